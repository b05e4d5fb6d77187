/**
 * Certificates: loading them from disk, reloading them when they change, and checking peers'
 * SANs against allow-lists.
 *
 * Reloading never restarts a listener: servers get the new material through
 * tls.Server#setSecureContext (new handshakes use it, established connections keep theirs) and
 * upstream pools are swapped for ones built with the new client certificate.
 */
import { readFile } from 'node:fs/promises';
import { constants } from 'node:crypto';
import { createSecureContext, type PeerCertificate, type SecureContextOptions } from 'node:tls';
import { describeError, type EventLog } from './log.js';
import type { Metrics } from './metrics.js';
import { watchFiles, type WatchOptions, type Watcher } from './watch.js';

export interface TlsFiles {
  certFile: string | null;
  keyFile: string | null;
  caFile: string;
}

export interface TlsMaterial {
  cert: Buffer | undefined;
  key: Buffer | undefined;
  ca: Buffer;
}

/** TLS 1.2 is the floor everywhere (requirement; TLS 1.0/1.1 are deprecated by RFC 8996). */
export const MIN_TLS_VERSION = 'TLSv1.2';

/**
 * Context options of every TLS server the proxy runs: TLS 1.2+, and no renegotiation. A
 * client-initiated TLS 1.2 renegotiation is a full handshake with certificate checks that the
 * client can repeat at will on one connection (CPU exhaustion); nginx and HAProxy refuse it too.
 * TLS 1.3 has no renegotiation at all.
 */
export function serverContextOptions(material: TlsMaterial | null): SecureContextOptions {
  return { ...material, minVersion: MIN_TLS_VERSION, secureOptions: constants.SSL_OP_NO_RENEGOTIATION };
}

/**
 * Reads the files and checks they form a usable context (a key that does not match its
 * certificate, or garbage in a file, throws here rather than at the first handshake).
 */
export async function loadTlsMaterial(files: TlsFiles): Promise<TlsMaterial> {
  const [cert, key, ca] = await Promise.all([
    files.certFile ? readFile(files.certFile) : undefined,
    files.keyFile ? readFile(files.keyFile) : undefined,
    readFile(files.caFile),
  ]);
  createSecureContext({ cert, key, ca, minVersion: MIN_TLS_VERSION });
  return { cert, key, ca };
}

function sameMaterial(a: TlsMaterial, b: TlsMaterial): boolean {
  const eq = (x: Buffer | undefined, y: Buffer | undefined) => (x === undefined ? y === undefined : y !== undefined && x.equals(y));
  return eq(a.cert, b.cert) && eq(a.key, b.key) && a.ca.equals(b.ca);
}

/**
 * A set of TLS files that is watched: `onUpdate` gets new material each time the files change to
 * something valid. Invalid intermediate states (the cert rotated but not yet its key) are logged
 * and skipped; the previous material stays in use.
 */
export class CertificateSource {
  private watcher: Watcher | null = null;
  private reloading = false;
  private again = false;

  private constructor(
    readonly files: TlsFiles,
    public material: TlsMaterial,
    private readonly log: EventLog,
    private readonly metrics: Metrics,
  ) {}

  static async open(files: TlsFiles, log: EventLog, metrics: Metrics): Promise<CertificateSource> {
    return new CertificateSource(files, await loadTlsMaterial(files), log, metrics);
  }

  watch(onUpdate: (m: TlsMaterial) => void, opts?: WatchOptions): void {
    const paths = [this.files.certFile, this.files.keyFile, this.files.caFile].filter((p): p is string => !!p);
    this.watcher = watchFiles(paths, () => void this.reload(onUpdate), opts);
  }

  sameFiles(files: TlsFiles): boolean {
    return files.certFile === this.files.certFile && files.keyFile === this.files.keyFile && files.caFile === this.files.caFile;
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
  }

  private async reload(onUpdate: (m: TlsMaterial) => void): Promise<void> {
    // One reload at a time; a change during a reload triggers one more pass.
    if (this.reloading) {
      this.again = true;
      return;
    }
    this.reloading = true;
    try {
      do {
        this.again = false;
        try {
          const next = await loadTlsMaterial(this.files);
          if (this.watcher === null || sameMaterial(next, this.material)) continue;
          this.material = next;
          onUpdate(next);
          this.metrics.certReloads.ok++;
          this.log('info', 'certificates reloaded', { files: this.files });
        } catch (err) {
          this.metrics.certReloads.failed++;
          this.log('warn', 'certificate reload failed, keeping the previous certificates', {
            files: this.files,
            error: describeError(err),
          });
        }
      } while (this.again);
    } finally {
      this.reloading = false;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// SAN allow-lists
// ---------------------------------------------------------------------------------------------

export interface Sans {
  uris: string[];
  dns: string[];
}

/**
 * Parses node's `subjectaltname` string ("DNS:a, URI:spiffe://x, IP Address:1.2.3.4"). Node
 * JSON-quotes values containing separators, so quoted values are decoded rather than split.
 */
export function parseSans(subjectaltname: string | undefined): Sans {
  const sans: Sans = { uris: [], dns: [] };
  if (!subjectaltname) return sans;
  const entry = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (let m = entry.exec(subjectaltname); m !== null; m = entry.exec(subjectaltname)) {
    const raw = m[2]!;
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch {
        continue;
      }
    }
    if (m[1] === 'URI') sans.uris.push(value);
    else if (m[1] === 'DNS') sans.dns.push(value.toLowerCase());
  }
  return sans;
}

/**
 * True when one SAN matches one pattern. A pattern with a scheme (`://`) is compared with URI
 * SANs, anything else with DNS SANs (case-insensitively); a trailing `*` matches any suffix.
 */
export function sansMatch(sans: Sans, patterns: readonly string[]): boolean {
  for (const pattern of patterns) {
    const isUri = pattern.includes('://');
    const candidates = isUri ? sans.uris : sans.dns;
    const p = isUri ? pattern : pattern.toLowerCase();
    const prefix = p.endsWith('*') ? p.slice(0, -1) : null;
    for (const san of candidates) {
      if (prefix === null ? san === p : san.startsWith(prefix)) return true;
    }
  }
  return false;
}

/** Peer check for inbound mTLS: an empty allow-list admits any certificate the CA signed. */
export function peerAllowed(cert: PeerCertificate | undefined, allowedPeers: readonly string[]): boolean {
  if (allowedPeers.length === 0) return true;
  return cert !== undefined && sansMatch(parseSans(cert.subjectaltname), allowedPeers);
}

/**
 * Server identity check for TLS origination with `expectedSan`: replaces the usual host name
 * check (service identities such as SPIFFE IDs are not host names).
 */
export function expectSans(expected: readonly string[]) {
  return (_host: string, cert: PeerCertificate): Error | undefined => {
    if (sansMatch(parseSans(cert.subjectaltname), expected)) return undefined;
    const err = new Error(`upstream certificate SANs (${cert.subjectaltname ?? 'none'}) match none of ${expected.join(', ')}`);
    (err as NodeJS.ErrnoException).code = 'ERR_TLS_CERT_ALTNAME_INVALID';
    return err;
  };
}

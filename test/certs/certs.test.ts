/**
 * `sidecarctl certs` as users run it (the real binary): Secrets on stdout, checked field by field with
 * @peculiar/x509, then used for a real mutual TLS handshake between two Node TLS endpoints on
 * 127.0.0.1; a certificate from another run (another CA) must be refused.
 */
import '../../src/certs/reflect-shim.js';
import * as x509 from '@peculiar/x509';
import { execa } from 'execa';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { objectsOfText, ROOT, schemaIssues } from '../helpers/corpus.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const BIN = join(ROOT, 'bin/sidecarctl.js');
const DAY = 86_400_000;
const FRONTEND_ID = 'spiffe://cluster.local/ns/shop/sa/frontend';
const BACKEND_ID = 'spiffe://cluster.local/ns/shop/sa/backend-sa';

const MANIFEST = `apiVersion: v1
kind: Service
metadata: {name: backend, namespace: shop}
spec:
  selector: {app: backend}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: backend, namespace: shop}
spec:
  selector: {matchLabels: {app: backend}}
  template:
    metadata: {labels: {app: backend}}
    spec:
      serviceAccountName: backend-sa
      containers: [{name: app, image: "example/backend:1", ports: [{containerPort: 8080}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: frontend, namespace: shop}
spec:
  selector: {matchLabels: {app: frontend}}
  template:
    metadata:
      labels: {app: frontend}
      annotations: {sidecarctl.io/upstream: "backend=backend.shop.svc:80@19000"}
    spec:
      serviceAccountName: frontend
      containers: [{name: app, image: "example/frontend:1", ports: [{containerPort: 3000}]}]
`;

type Secret = { metadata: { name: string; namespace: string }; type: string; data: Record<string, string> };
interface Material {
  cert: string;
  key: string;
  ca: string;
}

function run(args: string[], input?: string) {
  return execa('node', [BIN, ...args], { reject: false, env: { NO_COLOR: '1' }, ...(input !== undefined ? { input } : { stdin: 'ignore' }) });
}

function decode(secret: Secret): Material {
  const field = (k: string) => Buffer.from(secret.data[k]!, 'base64').toString('utf8');
  return { cert: field('tls.crt'), key: field('tls.key'), ca: field('ca.crt') };
}

function secretsOf(text: string): Map<string, Secret> {
  return new Map((objectsOfText(text) as unknown as Secret[]).map((s) => [s.metadata.name, s]));
}

/** A TLS server that requires a client certificate from its CA, and reports who connected. */
async function mtlsServer(own: Material): Promise<{ port: number; peers: string[]; close: () => void }> {
  const peers: string[] = [];
  const server = tls.createServer({ cert: own.cert, key: own.key, ca: own.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, (socket) => {
    peers.push(socket.getPeerCertificate().subjectaltname ?? '');
    socket.end('hello\n');
  });
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, peers, close: () => server.close() };
}

/** Connects with a client certificate, checking the server by DNS name (Node's check) and by SPIFFE ID. */
async function mtlsClient(port: number, own: Material, expectServer: string): Promise<string> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    servername: 'backend.shop.svc',
    cert: own.cert,
    key: own.key,
    ca: own.ca,
    checkServerIdentity: (host, cert) => tls.checkServerIdentity(host, cert) ?? (cert.subjectaltname?.split(', ').includes(`URI:${expectServer}`) ? undefined : new Error(`server is not ${expectServer}`)),
  });
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (data += chunk));
  await new Promise<void>((resolve, reject) => {
    socket.on('end', resolve);
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
  if (!data) throw new Error('no data: the server closed the connection');
  return data;
}

describe('sidecarctl certs', () => {
  let dir: string;
  let input: string;
  let first: Awaited<ReturnType<typeof run>>;
  let secrets: Map<string, Secret>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sidecarctl-certs-'));
    input = join(dir, 'app.yaml');
    writeFileSync(input, MANIFEST);
    first = await run(['certs', input]);
    secrets = secretsOf(first.stdout);
  });

  it('prints one kubernetes.io/tls Secret per workload, named as --mtls-secret expects, and warns on stderr', () => {
    expect(first.exitCode).toBe(0);
    expect([...secrets.keys()]).toEqual(['backend-sidecarctl-mtls', 'frontend-sidecarctl-mtls']);
    for (const s of secrets.values()) {
      expect(s.type).toBe('kubernetes.io/tls');
      expect(s.metadata.namespace).toBe('shop');
      expect(Object.keys(s.data).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    }
    expect(schemaIssues(first.stdout)).toEqual([]);
    expect(first.stderr).toContain('DEVELOPMENT ONLY, NOT FOR PRODUCTION');
    expect(first.stderr).toContain("--mtls-secret '{workload}-sidecarctl-mtls'");
    expect(first.stderr).toContain(`Secret/shop/backend-sidecarctl-mtls for Deployment/shop/backend: ${BACKEND_ID}, 4 DNS names`);
    // No key material on stderr, in any form.
    expect(first.stderr).not.toMatch(/PRIVATE KEY|BEGIN/);
    for (const s of secrets.values()) expect(first.stderr).not.toContain(s.data['tls.key']!.slice(0, 40));
  });

  it('issues X.509-SVIDs: one SPIFFE URI, the Services\' DNS names, both TLS usages, short validity, signed by the shared CA', async () => {
    const ca = new x509.X509Certificate(decode(secrets.get('backend-sidecarctl-mtls')!).ca);
    expect(ca.getExtension(x509.BasicConstraintsExtension)!.ca).toBe(true);
    expect(ca.subject).toContain('not for production');
    for (const [name, identity, dns] of [
      ['backend-sidecarctl-mtls', BACKEND_ID, ['backend', 'backend.shop', 'backend.shop.svc', 'backend.shop.svc.cluster.local']],
      ['frontend-sidecarctl-mtls', FRONTEND_ID, []],
    ] as const) {
      const material = decode(secrets.get(name)!);
      expect(material.ca).toBe(ca.toString('pem') + (material.ca.endsWith('\n') && !ca.toString('pem').endsWith('\n') ? '\n' : ''));
      const cert = new x509.X509Certificate(material.cert);
      const san = cert.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON();
      expect(san.filter((n) => n.type === 'url').map((n) => n.value)).toEqual([identity]);
      expect(san.filter((n) => n.type === 'dns').map((n) => n.value)).toEqual([...dns]);
      expect(cert.getExtension(x509.BasicConstraintsExtension)!.ca).toBe(false);
      expect(cert.getExtension(x509.KeyUsagesExtension)!.usages).toBe(x509.KeyUsageFlags.digitalSignature);
      expect(cert.getExtension(x509.ExtendedKeyUsageExtension)!.usages).toEqual([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
      expect(cert.notBefore.getTime()).toBeLessThanOrEqual(Date.now());
      expect(Math.abs(cert.notAfter.getTime() - (Date.now() + 30 * DAY))).toBeLessThan(DAY);
      expect(cert.notAfter.getTime()).toBeLessThan(ca.notAfter.getTime());
      expect(await cert.verify({ publicKey: ca.publicKey, signatureOnly: true })).toBe(true);
      expect(material.key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    }
  });

  it('makes certificates good for a real mutual TLS handshake, and refuses those of another CA', async () => {
    const backend = decode(secrets.get('backend-sidecarctl-mtls')!);
    const frontend = decode(secrets.get('frontend-sidecarctl-mtls')!);
    const server = await mtlsServer(backend);
    try {
      expect(await mtlsClient(server.port, frontend, BACKEND_ID)).toBe('hello\n');
      expect(server.peers).toEqual([`URI:${FRONTEND_ID}`]);

      // Another run is another CA: its client certificate must not get in...
      const other = secretsOf((await run(['certs', input])).stdout);
      const stranger = decode(other.get('frontend-sidecarctl-mtls')!);
      expect(stranger.ca).not.toBe(frontend.ca);
      await expect(mtlsClient(server.port, stranger, BACKEND_ID)).rejects.toThrow();
      // ...and a client of that other CA does not trust our server either.
      await expect(mtlsClient(server.port, { ...frontend, ca: stranger.ca }, BACKEND_ID)).rejects.toThrow(/self-signed|unable to verify|certificate/i);
      // A right CA but the wrong identity is refused by the client's SPIFFE check.
      await expect(mtlsClient(server.port, frontend, FRONTEND_ID)).rejects.toThrow(/server is not/);
      // The stranger never reached the server's handler; only the real frontend did.
      expect(new Set(server.peers)).toEqual(new Set([`URI:${FRONTEND_ID}`]));
    } finally {
      server.close();
    }
  });

  it('writes to -o FILE with mode 0600 and nothing on stdout', async () => {
    const out = join(dir, 'secrets.yaml');
    const r = await run(['certs', input, '-o', out, '--days', '7', '--trust-domain', 'example.org']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('');
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const backend = decode(secretsOf(readFileSync(out, 'utf8')).get('backend-sidecarctl-mtls')!);
    const cert = new x509.X509Certificate(backend.cert);
    expect(cert.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON().find((n) => n.type === 'url')!.value).toBe('spiffe://example.org/ns/shop/sa/backend-sa');
    expect(Math.abs(cert.notAfter.getTime() - (Date.now() + 7 * DAY))).toBeLessThan(DAY);
  });

  it('names Secrets from --mtls-secret, and inject mounts exactly those', async () => {
    const certs = await run(['certs', input, '--mtls-secret', '{workload}-tls']);
    expect([...secretsOf(certs.stdout).keys()]).toEqual(['backend-tls', 'frontend-tls']);
    const injected = await run(['inject', '--mtls', 'strict', '--mtls-secret', '{workload}-tls', input]);
    expect(injected.exitCode).toBe(0);
    const mounted = objectsOfText(injected.stdout)
      .filter((o) => o.kind === 'Deployment')
      .map((d) => JSON.stringify(d).match(/"secretName":"([^"]+)"/)![1]);
    expect(mounted).toEqual(['backend-tls', 'frontend-tls']);
  });

  it('refuses bad input with exit 2', async () => {
    for (const args of [['--days', '0'], ['--days', 'x'], ['--days', '1000'], ['--trust-domain', 'Not Valid'], ['--mtls-secret', 'UPPER']]) {
      const r = await run(['certs', input, ...args]);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
    }
    const none = await run(['certs', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n');
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain('no workload to make a certificate for');
  });
});

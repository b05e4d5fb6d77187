/**
 * Header rewriting between the client and the upstream, on node's flat raw header arrays
 * ([name, value, name, value, ...]): the proxy passes such arrays straight to http.request and
 * ServerResponse#writeHead, which avoids building header objects per request.
 *
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and are dropped: Connection,
 * Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding (node frames bodies itself), Upgrade (except
 * on upgrade requests) and every header the Connection header names, except the ones the proxy
 * frames or routes the message by (PROTECTED_NAMES).
 *
 * Framing is never copied from the client: the proxy writes the Content-Length or
 * Transfer-Encoding it parsed and forwards the body exactly as it decoded it. Otherwise a client
 * could name Content-Length in its Connection header, have it removed, and leave its body
 * unframed on a pooled connection, where the upstream reads it as further requests (smuggling).
 */
import { randomUUID } from 'node:crypto';
import { equalsLower } from './h1common.js';
import { RETRY_OPT_IN_HEADER } from './retry.js';

/** What the request head tells the proxy, filled in by scanRequestHeaders. */
export interface RequestHead {
  /** Headers to send upstream. */
  upstreamHeaders: string[];
  /** Declared body length, -1 when absent. */
  contentLength: number;
  /** The body uses chunked transfer coding (its length is unknown up front). */
  chunked: boolean;
  requestId: string;
  /** The client explicitly allowed retrying a non-idempotent request. */
  retryOptIn: boolean;
  /** More than one Host header: must be refused with 400 (RFC 9112 §3.2). */
  duplicateHost: boolean;
}

const enum Kind {
  Pass,
  HopByHop,
  Connection,
  Host,
  RequestId,
  ForwardedFor,
  ForwardedProto,
  ContentLength,
  TransferEncoding,
  RetryOptIn,
  Upgrade,
}

/**
 * Classifies a header name. Switching on the length first means most names are never lowercased
 * (a measurable cost on the hot path), and names are compared without lower-cased copies.
 */
function classify(name: string): Kind {
  switch (name.length) {
    case 2:
      return equalsLower(name, 'te') ? Kind.HopByHop : Kind.Pass;
    case 4:
      return equalsLower(name, 'host') ? Kind.Host : Kind.Pass;
    case 6:
      // The proxy has already answered `Expect: 100-continue` itself (node does it before emitting
      // the request), so the upstream must not be asked again (as Envoy does by default).
      return equalsLower(name, 'expect') ? Kind.HopByHop : Kind.Pass;
    case 7:
      if (equalsLower(name, 'upgrade')) return Kind.Upgrade;
      return equalsLower(name, 'trailer') ? Kind.HopByHop : Kind.Pass;
    case 10:
      if (equalsLower(name, 'connection')) return Kind.Connection;
      return equalsLower(name, 'keep-alive') ? Kind.HopByHop : Kind.Pass;
    case 12:
      return equalsLower(name, 'x-request-id') ? Kind.RequestId : Kind.Pass;
    case 14:
      return equalsLower(name, 'content-length') ? Kind.ContentLength : Kind.Pass;
    case 15:
      return equalsLower(name, 'x-forwarded-for') ? Kind.ForwardedFor : Kind.Pass;
    case 17:
      if (equalsLower(name, 'transfer-encoding')) return Kind.TransferEncoding;
      return equalsLower(name, 'x-forwarded-proto') ? Kind.ForwardedProto : Kind.Pass;
    case 18:
      if (equalsLower(name, RETRY_OPT_IN_HEADER)) return Kind.RetryOptIn;
      break;
  }
  return isProxyHeader(name) ? Kind.HopByHop : Kind.Pass;
}

/** Proxy-Connection, Proxy-Authorization, ...: meant for this hop only. */
function isProxyHeader(name: string): boolean {
  return (
    name.length > 6 && (name.charCodeAt(0) | 0x20) === 0x70 /* p */ && name.slice(0, 6).toLowerCase() === 'proxy-'
  );
}

const ONLY_STANDARD_TOKEN = /^(?:close|keep-alive|upgrade)$/i;

/** Tokens of a Connection header other than close/keep-alive/upgrade: extra hop-by-hop names. */
function extraHopByHop(connection: string | null): Set<string> | null {
  if (connection === null) return null;
  // Nearly every Connection header is just one of these (an upstream's `keep-alive` on every
  // response): skip the split/trim/lowercase below for them.
  if (connection.length <= 10 && ONLY_STANDARD_TOKEN.test(connection)) return null;
  let extra: Set<string> | null = null;
  for (const token of connection.split(',')) {
    const t = token.trim().toLowerCase();
    if (t === '' || t === 'close' || t === 'keep-alive' || t === 'upgrade') continue;
    (extra ??= new Set()).add(t);
  }
  return extra;
}

/**
 * Names a Connection header may never remove: the ones that frame or route the message (RFC 9110
 * §7.6.1: a connection option must not name a field meant for every recipient), and the ones the
 * proxy sets itself. nginx and HAProxy keep these too.
 */
export const PROTECTED_NAMES: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'content-type',
  'content-encoding',
  'content-range',
  'cache-control',
  'x-request-id',
  'x-forwarded-for',
  'x-forwarded-proto',
]);

function without(headers: string[], names: Set<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!.toLowerCase();
    if (!names.has(name) || PROTECTED_NAMES.has(name)) out.push(headers[i]!, headers[i + 1]!);
  }
  return out;
}

const MAX_REQUEST_ID_LENGTH = 200;

/** Ids handed out per random UUID (the last three hex digits count through them). */
const IDS_PER_UUID = 0x1000;
let idBase = '';
let idCount = IDS_PER_UUID;

/**
 * A new request id in UUID v4 form. crypto.randomUUID() per request showed in profiles; here one
 * random UUID serves 4096 ids whose last three hex digits are a counter, so ids stay unique within
 * the process (the counter) and across processes and restarts (110 random bits per batch).
 */
export function newRequestId(): string {
  if (idCount === IDS_PER_UUID) {
    idBase = randomUUID().slice(0, 33);
    idCount = 0;
  }
  const n = idCount++;
  return idBase + (n < 0x10 ? '00' : n < 0x100 ? '0' : '') + n.toString(16);
}

/**
 * Reads the client's raw headers once, filling `head` with the headers to send upstream and the
 * facts the proxy needs (body framing, request id, retry opt-in).
 *
 * - Host is kept, or replaced with `hostRewrite` (outbound listeners); `defaultHost` fills in for
 *   HTTP/1.0 clients that sent none (the upstream request is HTTP/1.1, which requires one).
 * - x-request-id is propagated, or generated (newRequestId) when absent or oversized.
 * - x-forwarded-for gets the client address appended; x-forwarded-proto is set to `proto`.
 * - The body's framing is the one the proxy parsed, written by the proxy after hop-by-hop removal:
 *   `content-length: N` for a declared length, `transfer-encoding: chunked` for a chunked body
 *   (re-chunked as decoded). The client's own framing headers are never forwarded as such.
 * - `keepUpgrade` keeps Upgrade and `Connection: upgrade` for WebSocket/Upgrade requests.
 */
export function scanRequestHeaders(
  raw: string[],
  head: RequestHead,
  remoteAddress: string,
  proto: string,
  hostRewrite: string | null,
  defaultHost: string,
  keepUpgrade: boolean,
): void {
  const out: string[] = [];
  let sawHost = false;
  head.duplicateHost = false;
  let forwardedFor: string | null = null;
  let connection: string | null = null;
  let requestId: string | null = null;
  let contentLength = -1;
  let chunked = false;
  let retryOptIn = false;

  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    switch (classify(name)) {
      case Kind.Pass:
        out.push(name, value);
        break;
      case Kind.Host:
        if (sawHost) {
          head.duplicateHost = true;
          break;
        }
        sawHost = true;
        out.push(name, hostRewrite ?? value);
        break;
      case Kind.ContentLength:
        // The request parser already rejected malformed or repeated lengths (and CL with TE).
        // Written back below from the parsed value, after hop-by-hop removal.
        contentLength = Number(value);
        break;
      case Kind.TransferEncoding:
        chunked = true;
        break;
      case Kind.RequestId:
        if (requestId === null && value.length > 0 && value.length <= MAX_REQUEST_ID_LENGTH) requestId = value;
        break;
      case Kind.ForwardedFor:
        forwardedFor = forwardedFor === null ? value : `${forwardedFor}, ${value}`;
        break;
      case Kind.Connection:
        connection = connection === null ? value : `${connection}, ${value}`;
        break;
      case Kind.Upgrade:
        if (keepUpgrade) out.push(name, value);
        break;
      case Kind.RetryOptIn:
        retryOptIn = value.trim().toLowerCase() === 'true';
        break;
      case Kind.ForwardedProto:
      case Kind.HopByHop:
        break;
    }
  }

  if (!sawHost) out.push('host', hostRewrite ?? defaultHost);
  const extra = extraHopByHop(connection);
  const headers = extra === null ? out : without(out, extra);
  if (contentLength >= 0) headers.push('content-length', String(contentLength));
  else if (chunked) headers.push('transfer-encoding', 'chunked');
  if (keepUpgrade) headers.push('connection', 'upgrade');
  requestId ??= newRequestId();
  headers.push(
    'x-request-id',
    requestId,
    'x-forwarded-for',
    forwardedFor === null ? remoteAddress : `${forwardedFor}, ${remoteAddress}`,
    'x-forwarded-proto',
    proto,
  );

  head.upstreamHeaders = headers;
  head.contentLength = contentLength;
  head.chunked = chunked;
  head.requestId = requestId;
  head.retryOptIn = retryOptIn;
}

/**
 * The upstream response's headers minus hop-by-hop ones. `keepUpgrade` keeps Upgrade and
 * Connection on a 101 response. `close` adds `Connection: close` (the listener is draining).
 */
export function responseHeaders(raw: string[], keepUpgrade: boolean, close: boolean): string[] {
  const out: string[] = [];
  let connection: string | null = null;
  let transferEncoding = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    switch (classify(name)) {
      case Kind.Connection:
        if (keepUpgrade) out.push(name, value);
        connection = connection === null ? value : `${connection}, ${value}`;
        break;
      case Kind.Upgrade:
        if (keepUpgrade) out.push(name, value);
        break;
      case Kind.TransferEncoding:
        transferEncoding = true;
        break;
      case Kind.HopByHop:
        break;
      default:
        out.push(name, value);
    }
  }
  if (close) out.push('connection', 'close');
  const extra = extraHopByHop(connection);
  const headers = extra === null ? out : without(out, extra);
  // Transfer-Encoding overrides Content-Length (RFC 9112 §6.3), and the body was decoded by it: a
  // Content-Length beside it must go (§6.3 says a proxy must remove it), or the client would
  // frame the re-encoded body by a length that is not its own.
  return transferEncoding ? withoutContentLength(headers) : headers;
}

function withoutContentLength(headers: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!equalsLower(headers[i]!, 'content-length')) out.push(headers[i]!, headers[i + 1]!);
  }
  return out;
}

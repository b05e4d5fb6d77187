/**
 * Strict HTTP/1.1 *request* head parser for the listeners (RFC 9112), the input hostile clients
 * control. It is at least as strict as node's llhttp without its lenient flags, and stricter where
 * leniency would let two parsers (this proxy and the app behind it) disagree about where a request
 * ends (request smuggling):
 *
 * - request line: a known method (node's http.METHODS), one SP, a target of visible ASCII (an
 *   absolute-form or CONNECT authority as llhttp's URL grammar allows it), one SP, HTTP/1.1 or
 *   HTTP/1.0; empty lines before it are skipped (RFC 9112 §2.2);
 * - every line ends in CRLF: a bare LF or CR anywhere in the head is an error;
 * - header names are tokens directly followed by ':'; values have no control characters;
 *   obs-fold (a line starting with whitespace) is refused;
 * - Content-Length: digits only, at most one header (even with equal values), no HTAB after it;
 * - Transfer-Encoding: exactly `chunked` (no HTAB after it), at most one header, only on
 *   HTTP/1.1, never together with Content-Length;
 * - Connection tokens read as llhttp reads them; an upgrade needs a non-empty Upgrade header and
 *   a Connection token exactly `upgrade`;
 * - Host is required on HTTP/1.1;
 * - limits: the whole head within maxHeaderBytes and at most maxHeaders fields (431).
 *
 * The body is decoded by the server with h1common's ChunkedDecoder (strict mode) or by counting.
 */
import { METHODS } from 'node:http';
import {
  CONN_CLOSE,
  CONN_KEEP_ALIVE,
  CONN_TAB_SHIFT,
  CONN_UPGRADE,
  connectionTokens,
  CRLFCRLF,
  equalsLower,
  hasHtab,
  parseContentLength,
  TOKEN_CHARS,
} from './h1common.js';

export class RequestError extends Error {
  constructor(
    /** The answer: 400, or 431 for the header limits. */
    readonly status: 400 | 431,
    message: string,
  ) {
    super(message);
  }
}

export interface RequestHeadLimits {
  maxHeaderBytes: number;
  maxHeaders: number;
}

export interface ParsedRequest {
  method: string;
  url: string;
  /** 1 for HTTP/1.1, 0 for HTTP/1.0. */
  minor: 0 | 1;
  /** [name, value, name, value, ...] as received (values trimmed). */
  rawHeaders: string[];
  /** Declared body length; -1 when there is none (no body, or chunked). */
  contentLength: number;
  chunked: boolean;
  /** The client allows another request on this connection. */
  keepAlive: boolean;
  /** `Connection: upgrade` with an Upgrade header (WebSocket and the like). */
  upgrade: boolean;
  /** The Expect header, lower-cased, or null. */
  expect: string | null;
}

export interface HeadResult {
  request: ParsedRequest;
  /** Index in the buffer just past the head (where the body or the next request starts). */
  end: number;
}

const KNOWN_METHODS = new Set(METHODS);
const MAX_METHOD_LENGTH = 16;

/**
 * Parses the request head that starts at buf[pos]. Returns null when it is not complete yet (the
 * caller waits for more bytes), throws RequestError when it is malformed or over the limits
 * (as soon as that is known, without waiting for the rest). `scanned`: how many bytes from `pos`
 * an earlier call already saw incomplete, so that a head arriving in many small pieces is not
 * searched from its start every time (quadratic work for a slow client).
 */
export function parseRequestHead(buf: Buffer, pos: number, limits: RequestHeadLimits, scanned = 0): HeadResult | null {
  const resumeAt = pos + scanned;
  // Empty lines before the request line are allowed (a client's stray CRLF after a body).
  while (pos + 1 < buf.length && buf[pos] === 0x0d && buf[pos + 1] === 0x0a) pos += 2;
  const end = buf.indexOf(CRLFCRLF, Math.max(pos, resumeAt - 3));
  if (end < 0) {
    checkPartialHead(buf, pos, Math.max(pos, resumeAt - 1), limits);
    return null;
  }
  if (end + 2 - pos > limits.maxHeaderBytes) throw new RequestError(431, 'request head too large');
  const head = buf.toString('latin1', pos, end + 2);
  return { request: parseHead(head, buf, pos, limits), end: end + 4 };
}

/** An incomplete head can already be known bad: too long, or a bare LF (llhttp fails at once too). */
function checkPartialHead(buf: Buffer, pos: number, from: number, limits: RequestHeadLimits): void {
  if (buf.length - pos > limits.maxHeaderBytes) throw new RequestError(431, 'request head too large');
  for (let lf = buf.indexOf(0x0a, from); lf >= 0; lf = buf.indexOf(0x0a, lf + 1)) {
    if (lf === pos || buf[lf - 1] !== 0x0d) throw new RequestError(400, 'bare LF in request head');
  }
}

/**
 * `head` is the request line and header lines, each ending in CRLF; `bytes[base + i]` is
 * `head.charCodeAt(i)` (latin1): the per-character checks read the bytes, which is about twice as
 * fast as charCodeAt on the string and its slices.
 */
function parseHead(head: string, bytes: Buffer, base: number, limits: RequestHeadLimits): ParsedRequest {
  let eol = head.indexOf('\r\n');
  const sp1 = head.indexOf(' ');
  const sp2 = sp1 < 0 ? -1 : head.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || sp2 > eol || sp1 > MAX_METHOD_LENGTH) throw new RequestError(400, 'invalid request line');
  const method = head.slice(0, sp1);
  if (!KNOWN_METHODS.has(method)) throw new RequestError(400, 'invalid method');
  const url = head.slice(sp1 + 1, sp2);
  if (!isRequestTarget(url, method)) throw new RequestError(400, 'invalid request target');
  const version = head.slice(sp2 + 1, eol);
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') throw new RequestError(400, 'invalid HTTP version');
  const minor: 0 | 1 = version === 'HTTP/1.1' ? 1 : 0;

  const raw: string[] = [];
  let contentLength = -1;
  let transferEncoding: string | null = null;
  /** Exactly `chunked`, with no HTAB after it (llhttp: another coding, HPE_INVALID_TRANSFER_ENCODING). */
  let plainChunked = false;
  let connection = 0;
  let sawHost = false;
  let upgradeHeader = false;
  let expect: string | null = null;
  let pos = eol + 2;
  while (pos < head.length) {
    eol = head.indexOf('\r\n', pos);
    const c = head.charCodeAt(pos);
    if (c === 0x20 || c === 0x09) throw new RequestError(400, 'obsolete line folding');
    const colon = head.indexOf(':', pos);
    if (colon < 0 || colon > eol || !isTokenBytes(bytes, base + pos, base + colon)) throw new RequestError(400, 'invalid header name');
    const name = head.slice(pos, colon);
    // The value without surrounding OWS (SP, HTAB); no control characters in what is left.
    let start = base + colon + 1;
    let stop = base + eol;
    while (start < stop && (bytes[start] === 0x20 || bytes[start] === 0x09)) start++;
    while (stop > start && (bytes[stop - 1] === 0x20 || bytes[stop - 1] === 0x09)) stop--;
    if (!isFieldValueBytes(bytes, start, stop)) throw new RequestError(400, 'invalid header value');
    const value = head.slice(start - base, stop - base);
    pos = eol + 2;
    if (raw.length >= limits.maxHeaders * 2) throw new RequestError(431, 'too many headers');
    raw.push(name, value);
    switch (name.length) {
      case 4:
        if (equalsLower(name, 'host')) sawHost = true;
        break;
      case 6:
        if (equalsLower(name, 'expect')) expect = value.toLowerCase();
        break;
      case 7:
        // An empty Upgrade is no upgrade for llhttp (it never sees a value to flag).
        if (equalsLower(name, 'upgrade') && value.length > 0) upgradeHeader = true;
        break;
      case 10:
        if (equalsLower(name, 'connection')) connection |= connectionTokens(bytes, base + colon + 1, base + eol);
        break;
      case 14:
        if (equalsLower(name, 'content-length')) {
          if (contentLength >= 0) throw new RequestError(400, 'duplicate content-length');
          contentLength = parseContentLength(value);
          if (contentLength < 0 || hasHtab(bytes, stop, base + eol)) throw new RequestError(400, 'invalid content-length');
        }
        break;
      case 16:
        // llhttp reads Proxy-Connection as Connection (close, keep-alive, upgrade).
        if (equalsLower(name, 'proxy-connection')) connection |= connectionTokens(bytes, base + colon + 1, base + eol);
        break;
      case 17:
        if (equalsLower(name, 'transfer-encoding')) {
          if (transferEncoding !== null) throw new RequestError(400, 'duplicate transfer-encoding');
          transferEncoding = value;
          plainChunked = value.length === 7 && equalsLower(value, 'chunked') && !hasHtab(bytes, stop, base + eol);
        }
        break;
    }
  }

  if (minor === 1 && !sawHost) throw new RequestError(400, 'missing host');
  let chunked = false;
  if (transferEncoding !== null) {
    if (contentLength >= 0) throw new RequestError(400, 'content-length with transfer-encoding');
    if (minor === 0) throw new RequestError(400, 'transfer-encoding on HTTP/1.0');
    // Only plain chunked: any other coding would reach the upstream undeclared (headers.ts
    // re-frames the body as chunked), and a non-chunked final coding has no defined length.
    if (!plainChunked) throw new RequestError(400, 'unsupported transfer-encoding');
    chunked = true;
  }
  // A token followed by HTAB (`close<HTAB>`) is read by some llhttp versions and not others: it
  // counts as close, never as keep-alive, and makes an upgrade ambiguous (refused).
  const keepAlive = minor === 1 ? (connection & (CONN_CLOSE | (CONN_CLOSE << CONN_TAB_SHIFT))) === 0 : (connection & CONN_KEEP_ALIVE) !== 0;
  let upgrade = false;
  if (upgradeHeader) {
    upgrade = (connection & CONN_UPGRADE) !== 0;
    if (!upgrade && (connection & (CONN_UPGRADE << CONN_TAB_SHIFT)) !== 0) throw new RequestError(400, 'ambiguous connection upgrade');
  }
  return { method, url, minor, rawHeaders: raw, contentLength, chunked, keepAlive, upgrade, expect };
}

/**
 * origin-form (`/path?query`), `*` (OPTIONS), absolute-form (`http://...`, refused later with a
 * logged 400) or authority-form (CONNECT, refused later with 405): visible ASCII only, and the
 * last two as llhttp's URL grammar has them (or stricter), so that ours never takes a request
 * line llhttp refuses: a scheme of letters only, `://`, then an authority.
 */
function isRequestTarget(url: string, method: string): boolean {
  if (url.length === 0) return false;
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  const first = url.charCodeAt(0);
  if (first === 0x2f /* / */) return true;
  if (method === 'CONNECT') return isAuthority(url, 0);
  if (url === '*') return true;
  let i = 0;
  while (i < url.length && isAlpha(url.charCodeAt(i))) i++;
  if (i === 0 || !url.startsWith('://', i)) return false;
  return isAuthority(url, i + 3);
}

/**
 * 1 for what llhttp allows in the authority of a URL: letters, digits, `-_.!~*'()%;:&=+$,` and
 * brackets (IPv6); `@` is checked apart.
 */
const AUTHORITY_CHARS = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'()%;:&=+$,[]") AUTHORITY_CHARS[c.charCodeAt(0)] = 1;

/** url[from..] is an authority, then optionally a path or query (any visible ASCII). At most one `@` (stricter than llhttp). */
function isAuthority(url: string, from: number): boolean {
  let at = false;
  for (let i = from; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x2f /* / */ || c === 0x3f /* ? */) return true;
    if (c === 0x40 /* @ */) {
      if (at) return false;
      at = true;
    } else if (AUTHORITY_CHARS[c] !== 1) {
      return false;
    }
  }
  return true;
}

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** isToken over bytes[start, end). */
function isTokenBytes(bytes: Buffer, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) if (TOKEN_CHARS[bytes[i]!] !== 1) return false;
  return true;
}

/** isFieldValue over bytes[start, end): no control characters but HTAB, no DEL. */
function isFieldValueBytes(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return false;
  }
  return true;
}

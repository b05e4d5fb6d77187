/**
 * Pieces shared by the HTTP/1.1 response parser (h1parser.ts, upstream side) and the request
 * parser (h1request.ts, client side): character classes, header line checks and the chunked
 * transfer-coding decoder (RFC 9112 §7.1).
 */

export const CRLF = Buffer.from('\r\n');
export const CRLFCRLF = Buffer.from('\r\n\r\n');

/** 1 for the characters of an RFC 9110 token (header names, methods, chunk extension names). */
export const TOKEN_CHARS = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TOKEN_CHARS[c.charCodeAt(0)] = 1;

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** A token: non-empty, token characters only, within s[start, end). */
export function isToken(s: string, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) if (TOKEN_CHARS[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/** A header field value (already trimmed): no control characters but HTAB, no DEL (obs-text allowed). */
export function isFieldValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return false;
  }
  return true;
}

/** Content-Length value: digits only, small enough to be an exact number; -1 if malformed. */
export function parseContentLength(value: string): number {
  if (value.length === 0 || value.length > 15) return -1;
  for (let i = 0; i < value.length; i++) if (!isDigit(value.charCodeAt(i))) return -1;
  return Number(value);
}

/**
 * Whether bytes[from, to) holds an HTAB: used on the OWS trimmed off the end of a value. llhttp
 * (up to 9.3, node 20's) ends a Content-Length value or the `chunked` coding with SP only, so
 * `Content-Length: 5<HTAB>` is an error there and `chunked<HTAB>` another coding: a parser that
 * trims HTAB too would frame such a message differently.
 */
export function hasHtab(bytes: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] === 0x09) return true;
  return false;
}

/**
 * Transfer-Encoding as llhttp reads it: whether the last coding of the value is `chunked`
 * (any case), preceded by the start of the value or by ',' and OWS, and followed by nothing but
 * SP. bytes[start, stop) is the value without its OWS, which ended at `lineEnd`.
 */
export function lastCodingIsChunked(bytes: Buffer, start: number, stop: number, lineEnd: number): boolean {
  if (stop - start < 7 || hasHtab(bytes, stop, lineEnd) || !equalsLowerBytes(bytes, stop - 7, 'chunked')) return false;
  let i = stop - 8;
  while (i >= start && (bytes[i] === 0x20 || bytes[i] === 0x09)) i--;
  return i < start || bytes[i] === 0x2c /* , */;
}

/** Connection tokens (connectionTokens): the flags of those llhttp acts on. */
export const CONN_CLOSE = 1;
export const CONN_KEEP_ALIVE = 2;
export const CONN_UPGRADE = 4;
/**
 * The same tokens followed by HTAB (`close<HTAB>`): llhttp up to 9.3 (node 20's) does not see
 * them, later versions do. Callers read them the safe way (close: closed; keep-alive: not kept).
 */
export const CONN_TAB_SHIFT = 3;

/**
 * The Connection (or Proxy-Connection, which llhttp reads the same) tokens in bytes[start, end),
 * the raw value, as llhttp reads them: comma-separated, each without leading OWS and trailing
 * SP, compared case-insensitively with close, keep-alive and upgrade (`closed` or `x close` are
 * other tokens). A byte loop: it runs for every request with a Connection header.
 */
export function connectionTokens(bytes: Buffer, start: number, end: number): number {
  let flags = 0;
  let i = start;
  while (i < end) {
    while (i < end && (bytes[i] === 0x20 || bytes[i] === 0x09)) i++;
    let j = i;
    while (j < end && bytes[j] !== 0x2c) j++;
    let k = j;
    let tab = false;
    while (k > i && (bytes[k - 1] === 0x20 || bytes[k - 1] === 0x09)) if (bytes[--k] === 0x09) tab = true;
    let f = 0;
    switch (k - i) {
      case 5:
        if (equalsLowerBytes(bytes, i, 'close')) f = CONN_CLOSE;
        break;
      case 7:
        if (equalsLowerBytes(bytes, i, 'upgrade')) f = CONN_UPGRADE;
        break;
      case 10:
        if (equalsLowerBytes(bytes, i, 'keep-alive')) f = CONN_KEEP_ALIVE;
        break;
    }
    flags |= tab ? f << CONN_TAB_SHIFT : f;
    i = j + 1;
  }
  return flags;
}

/** Longest chunk-size line (size and extensions) accepted. */
export const MAX_CHUNK_LINE = 1024;
const MAX_CHUNK_SIZE_DIGITS = 12;
const MAX_TRAILER_BYTES = 16 * 1024;

/**
 * What may follow the size: `;name` or `;name=token` or `;name="quoted"` extensions, no
 * whitespace anywhere (llhttp's strict mode; lenient parsing of chunk extensions is a smuggling
 * vector). Only tried when a size is followed by ';' (rare): plain sizes are read byte by byte.
 */
const CHUNK_EXTENSIONS = /^(?:;[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:=(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[\t !#-[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"))?)+$/;

/** Value of a hex digit, -1 for anything else. */
const HEX_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
}

export class ChunkedError extends Error {}

const enum Chunk {
  Size,
  Data,
  DataEnd,
  Trailers,
  Done,
}

/**
 * Decodes a chunked body incrementally, as strictly as llhttp without lenient flags (or
 * stricter), for requests and responses alike: the upstream side is where a desync would let one
 * response be read as another's body. step() does one unit of work and returns the new read
 * position; a returned position equal to the one passed in (and !done) means "need more bytes":
 * the caller keeps buf[pos..] and calls again with more appended. Body bytes go to `onData`,
 * at most one call per step, so the caller can stop between chunks (backpressure). Trailers are
 * checked like header lines and dropped. Throws ChunkedError on malformed input.
 */
export class ChunkedDecoder {
  private state = Chunk.Size;
  private remaining = 0;
  private trailerBytes = 0;

  constructor(private readonly onData: (chunk: Buffer) => void) {}

  get done(): boolean {
    return this.state === Chunk.Done;
  }

  reset(): void {
    this.state = Chunk.Size;
    this.remaining = 0;
    this.trailerBytes = 0;
  }

  step(buf: Buffer, pos: number): number {
    switch (this.state) {
      case Chunk.Size: {
        const end = lineEnd(buf, pos, MAX_CHUNK_LINE, 'chunk size line');
        if (end < 0) return pos;
        this.remaining = chunkSize(buf, pos, end);
        this.state = this.remaining === 0 ? Chunk.Trailers : Chunk.Data;
        this.trailerBytes = 0;
        return end + 2;
      }
      case Chunk.Data: {
        const n = Math.min(this.remaining, buf.length - pos);
        if (n === 0) return pos;
        this.remaining -= n;
        if (this.remaining === 0) this.state = Chunk.DataEnd;
        this.onData(buf.subarray(pos, pos + n));
        return pos + n;
      }
      case Chunk.DataEnd: {
        if (buf.length - pos < 2) {
          if (buf.length > pos && buf[pos] !== 0x0d) throw new ChunkedError('missing CRLF after chunk data');
          return pos;
        }
        if (buf[pos] !== 0x0d || buf[pos + 1] !== 0x0a) throw new ChunkedError('missing CRLF after chunk data');
        this.state = Chunk.Size;
        return pos + 2;
      }
      case Chunk.Trailers: {
        const end = lineEnd(buf, pos, MAX_TRAILER_BYTES - this.trailerBytes, 'trailer section');
        if (end < 0) return pos;
        if ((this.trailerBytes += end + 2 - pos) > MAX_TRAILER_BYTES) throw new ChunkedError('trailers too large');
        if (end === pos) {
          this.state = Chunk.Done; // the empty line ending the trailer section
        } else {
          checkTrailer(buf.toString('latin1', pos, end));
        }
        return end + 2;
      }
      case Chunk.Done:
        return pos;
    }
  }
}

/** The size on the chunk-size line buf[pos, end): hex digits, then nothing or valid extensions. */
function chunkSize(buf: Buffer, pos: number, end: number): number {
  let size = 0;
  let i = pos;
  for (; i < end; i++) {
    const d = HEX_VALUE[buf[i]!]!;
    if (d < 0) break;
    size = size * 16 + d;
  }
  // At most 12 digits, so sizes stay exact numbers (leading zeros count too: stricter than
  // llhttp, which only refuses a size over 64 bits).
  if (i === pos || i - pos > MAX_CHUNK_SIZE_DIGITS) throw new ChunkedError('invalid chunk size line');
  if (i < end && (buf[i] !== 0x3b /* ; */ || !CHUNK_EXTENSIONS.test(buf.toString('latin1', i, end)))) throw new ChunkedError('invalid chunk size line');
  return size;
}

/**
 * A trailer line: a header line like any other, but not one of the fields that frame, route or
 * manage the connection (RFC 9110 §6.5.1): llhttp applies trailers to the message's flags (a
 * Content-Length trailer is HPE_INVALID_CONTENT_LENGTH, a Connection: close one ends the
 * connection), so a recipient that drops them, as this one does, would read the stream differently.
 */
function checkTrailer(line: string): void {
  const colon = line.indexOf(':');
  if (colon <= 0 || !isToken(line, 0, colon) || !isFieldValue(line.slice(colon + 1))) throw new ChunkedError('invalid trailer line');
  let forbidden = false;
  switch (colon) {
    case 4:
      forbidden = equalsLower(line.slice(0, colon), 'host');
      break;
    case 10:
      forbidden = equalsLower(line.slice(0, colon), 'connection');
      break;
    case 14:
      forbidden = equalsLower(line.slice(0, colon), 'content-length');
      break;
    case 16:
      forbidden = equalsLower(line.slice(0, colon), 'proxy-connection');
      break;
    case 17:
      forbidden = equalsLower(line.slice(0, colon), 'transfer-encoding');
      break;
  }
  if (forbidden) throw new ChunkedError(`${line.slice(0, colon).toLowerCase()} in trailers`);
}

/**
 * Index of the CRLF ending the line at buf[pos..], or -1 when it has not arrived yet. Throws when
 * the line is longer than `max`, or (strict framing) contains a bare CR or LF.
 */
function lineEnd(buf: Buffer, pos: number, max: number, what: string): number {
  const lf = buf.indexOf(0x0a, pos);
  if (lf < 0) {
    if (buf.length - pos > max) throw new ChunkedError(`${what} too long`);
    return -1;
  }
  if (lf === pos || buf[lf - 1] !== 0x0d) throw new ChunkedError(`bare LF in ${what}`);
  if (lf - 1 - pos > max) throw new ChunkedError(`${what} too long`);
  return lf - 1;
}

/**
 * `name.toLowerCase() === lower` for an ASCII, lower-case `lower`, without making the lower-cased
 * copy (header names are compared this way several times per request and response).
 */
export function equalsLower(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** equalsLower on bytes[start, start + lower.length) (the caller checked the length fits). */
export function equalsLowerBytes(bytes: Buffer, start: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    const c = bytes[start + i]!;
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

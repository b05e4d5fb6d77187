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

/** Longest chunk-size line (size and extensions) accepted. */
export const MAX_CHUNK_LINE = 1024;
const MAX_TRAILER_BYTES = 16 * 1024;

/** Lenient: size, optional whitespace, anything after ';' (what upstream servers send). */
const CHUNK_LINE_LENIENT = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;[^\r\n]*)?$/;
/**
 * Strict: size, then `;name` or `;name=token` or `;name="quoted"` extensions, no whitespace
 * anywhere (llhttp's strict mode; lenient parsing of chunk extensions is a smuggling vector).
 */
const CHUNK_LINE_STRICT = /^([0-9A-Fa-f]{1,12})(?:;[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:=(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[\t !#-[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"))?)*$/;

export class ChunkedError extends Error {}

const enum Chunk {
  Size,
  Data,
  DataEnd,
  Trailers,
  Done,
}

/**
 * Decodes a chunked body incrementally. step() does one unit of work and returns the new read
 * position; a returned position equal to the one passed in (and !done) means "need more bytes":
 * the caller keeps buf[pos..] and calls again with more appended. Body bytes go to `onData`,
 * at most one call per step, so the caller can stop between chunks (backpressure). Trailers are
 * checked like header lines and dropped. Throws ChunkedError on malformed input.
 */
export class ChunkedDecoder {
  private state = Chunk.Size;
  private remaining = 0;
  private trailerBytes = 0;

  constructor(
    private readonly strict: boolean,
    private readonly onData: (chunk: Buffer) => void,
  ) {}

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
        const size = (this.strict ? CHUNK_LINE_STRICT : CHUNK_LINE_LENIENT).exec(buf.toString('latin1', pos, end));
        if (!size) throw new ChunkedError('invalid chunk size line');
        this.remaining = parseInt(size[1]!, 16);
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
        } else if (this.strict) {
          const line = buf.toString('latin1', pos, end);
          const colon = line.indexOf(':');
          if (colon <= 0 || !isToken(line, 0, colon) || !isFieldValue(line.slice(colon + 1))) throw new ChunkedError('invalid trailer line');
        }
        return end + 2;
      }
      case Chunk.Done:
        return pos;
    }
  }
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

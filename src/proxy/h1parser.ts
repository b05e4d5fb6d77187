/**
 * HTTP/1.1 *response* parser for the upstream side (RFC 9112).
 *
 * Why not node's http client: per request it builds a ClientRequest, goes through the Agent and
 * an IncomingMessage stream; in profiles that machinery was the largest single cost of the proxy.
 * Requests from clients, where hostile input comes from, are parsed by h1request.ts; this parser
 * reads answers from the app or an upstream service, and is strict anyway: anything it does not
 * understand is an error (the proxy answers 502 and drops the connection), never a guess.
 *
 * Framing rules, as llhttp (node's parser, strict) reads them or stricter, since a desync with
 * the upstream would let one response be read as part of another: 1xx responses are skipped
 * (one that closes the connection is an error: nothing may follow it); HEAD responses and
 * 204/304 have no body; a last non-empty Transfer-Encoding whose final coding is chunked is
 * decoded (strictly, like request bodies); other Transfer-Encoding, or no framing header, means
 * the body ends when the connection closes; otherwise Content-Length (digits only). Errors: a
 * bare CR or LF anywhere in the head, control characters, a repeated Content-Length (even with
 * the same value), Content-Length with Transfer-Encoding. Trailers are checked and dropped.
 */

import {
  ChunkedDecoder,
  ChunkedError,
  CONN_CLOSE,
  CONN_KEEP_ALIVE,
  CONN_TAB_SHIFT,
  connectionTokens,
  CRLFCRLF,
  equalsLower,
  hasHtab,
  isDigit,
  lastCodingIsChunked,
  parseContentLength,
  TOKEN_CHARS,
} from './h1common.js';

export class ParseError extends Error {
  readonly code = 'ERR_UPSTREAM_PARSE';
}

export interface ResponseHandler {
  /** Status line and headers (raw, in order). `keepAlive`: the connection may carry another request. */
  onHead(status: number, rawHeaders: string[], keepAlive: boolean): void;
  onBody(chunk: Buffer): void;
  onComplete(): void;
}

const enum State {
  Head,
  Fixed,
  Chunked,
  UntilClose,
  Done,
}

export class ResponseParser {
  private state = State.Done;
  private headOnly = false;
  /** Bytes kept between chunks: an unfinished head, chunk-size line or trailer section. */
  private pending: Buffer | null = null;
  private remaining = 0;
  /** Bytes of an incomplete head (kept in `pending`) already checked for bare CR and LF. */
  private headScanned = 0;
  private readonly chunked: ChunkedDecoder;
  keepAlive = false;

  constructor(
    private readonly maxHeaderBytes: number,
    private readonly handler: ResponseHandler,
  ) {
    this.chunked = new ChunkedDecoder((chunk) => handler.onBody(chunk));
  }

  /** Expect the response to a new request. HEAD responses never have a body. */
  start(method: string): void {
    this.state = State.Head;
    this.headOnly = method === 'HEAD';
    this.pending = null;
    this.headScanned = 0;
    this.keepAlive = false;
  }

  get done(): boolean {
    return this.state === State.Done;
  }

  /** True when the body is delimited by the connection closing (so a close is its end). */
  get endsAtClose(): boolean {
    return this.state === State.UntilClose;
  }

  /**
   * Feeds bytes from the socket. Throws ParseError on malformed input, or when bytes arrive after
   * the response is complete (a server must not send unsolicited data). `data` may be a read
   * buffer the caller reuses: nothing of it is kept after the call (unparsed bytes are copied),
   * and body chunks handed to onBody are only valid during that call.
   */
  execute(data: Buffer): void {
    const buf = this.pending === null ? data : Buffer.concat([this.pending, data]);
    this.pending = null;
    let pos = 0;
    while (pos < buf.length) {
      switch (this.state) {
        case State.Head: {
          const end = buf.indexOf(CRLFCRLF, pos);
          if (end < 0) {
            if (buf.length - pos > this.maxHeaderBytes) throw new ParseError('upstream response headers too large');
            // A bare CR or LF is an error at once, before the head ends (if it ever does): llhttp
            // (9.3) takes `\r\r` as the end of a status line and could see a complete response
            // where this parser would go on waiting for CRLFCRLF.
            checkLineEnds(buf, pos, Math.max(pos, pos + this.headScanned - 1));
            this.headScanned = buf.length - pos;
            this.pending = Buffer.from(buf.subarray(pos));
            return;
          }
          this.headScanned = 0;
          if (end - pos > this.maxHeaderBytes) throw new ParseError('upstream response headers too large');
          const head = buf.toString('latin1', pos, end);
          const headStart = pos;
          pos = end + 4;
          this.parseHead(head, buf, headStart);
          break;
        }
        case State.Fixed: {
          const n = Math.min(this.remaining, buf.length - pos);
          this.remaining -= n;
          if (this.remaining === 0) this.state = State.Done;
          this.handler.onBody(buf.subarray(pos, (pos += n)));
          break;
        }
        case State.Chunked: {
          let next: number;
          try {
            next = this.chunked.step(buf, pos);
          } catch (err) {
            if (err instanceof ChunkedError) throw new ParseError(err.message);
            throw err;
          }
          if (this.chunked.done) this.state = State.Done;
          else if (next === pos) {
            this.pending = Buffer.from(buf.subarray(pos));
            return;
          }
          pos = next;
          break;
        }
        case State.UntilClose: {
          const chunk = pos === 0 ? buf : buf.subarray(pos);
          pos = buf.length;
          this.handler.onBody(chunk);
          break;
        }
        case State.Done:
          throw new ParseError('unexpected data after the response');
      }
      if (this.state === State.Done) {
        // Checked before completing: once complete, the connection may be handed to the next
        // request, and stray bytes must never be read as its response.
        if (pos < buf.length) throw new ParseError('unexpected data after the response');
        this.handler.onComplete();
        return;
      }
    }
  }

  /** The connection closed: completes a close-delimited body, anything else was cut short. */
  finish(): boolean {
    if (this.state === State.UntilClose) {
      this.state = State.Done;
      this.handler.onComplete();
      return true;
    }
    return this.state === State.Done;
  }

  /**
   * `bytes[base + i]` is `head.charCodeAt(i)` (latin1): the character checks below read the
   * bytes, which is about twice as fast as charCodeAt on the string and its slices.
   */
  private parseHead(head: string, bytes: Buffer, base: number): void {
    // Status line: "HTTP/1.x NNN[ reason]", checked by hand (this runs once per response).
    let eol = head.indexOf('\r\n');
    if (eol < 0) eol = head.length;
    if (
      eol < 12 ||
      !head.startsWith('HTTP/1.') ||
      (head.charCodeAt(7) !== 0x31 && head.charCodeAt(7) !== 0x30) ||
      head.charCodeAt(8) !== 0x20 ||
      !isDigit(head.charCodeAt(9)) ||
      !isDigit(head.charCodeAt(10)) ||
      !isDigit(head.charCodeAt(11)) ||
      (eol > 12 && head.charCodeAt(12) !== 0x20)
    ) {
      throw new ParseError('invalid status line');
    }
    // No CR or LF in the reason phrase: a bare one would end the status line for llhttp, and
    // hide the next header line in it for a parser looking for CRLF only. Anything else is
    // allowed, as llhttp does (the reason is never forwarded: the listener writes its own).
    for (let i = base + 12, stop = base + eol; i < stop; i++) {
      const c = bytes[i]!;
      if (c === 0x0d || c === 0x0a) throw new ParseError('invalid status line');
    }
    const http10 = head.charCodeAt(7) === 0x30;
    const status = (head.charCodeAt(9) - 48) * 100 + (head.charCodeAt(10) - 48) * 10 + (head.charCodeAt(11) - 48);
    if (status < 100) throw new ParseError('invalid status code');
    const raw: string[] = [];
    let contentLength = -1;
    let chunked = false;
    let transferEncoding = false;
    let connection = 0;
    let pos = eol + 2;
    while (pos < head.length) {
      let end = head.indexOf('\r\n', pos);
      if (end < 0) end = head.length;
      const colon = head.indexOf(':', pos);
      if (colon <= pos || colon > end) throw new ParseError('invalid header line');
      for (let i = base + pos, stop = base + colon; i < stop; i++) {
        if (TOKEN_CHARS[bytes[i]!] !== 1) throw new ParseError('invalid header name');
      }
      const name = head.slice(pos, colon);
      // The value without surrounding OWS (SP, HTAB) and nothing else: what is left must be a
      // valid field value, so a CR, LF, VT or FF in or around it is an error, not trimmed away.
      let start = base + colon + 1;
      let stop = base + end;
      while (start < stop && (bytes[start] === 0x20 || bytes[start] === 0x09)) start++;
      while (stop > start && (bytes[stop - 1] === 0x20 || bytes[stop - 1] === 0x09)) stop--;
      for (let i = start; i < stop; i++) {
        const c = bytes[i]!;
        if ((c < 0x20 && c !== 0x09) || c === 0x7f) throw new ParseError('invalid header value');
      }
      const value = head.slice(start - base, stop - base);
      raw.push(name, value);
      switch (name.length) {
        case 10:
          if (equalsLower(name, 'connection')) connection |= connectionTokens(bytes, base + colon + 1, base + end);
          break;
        case 14:
          if (equalsLower(name, 'content-length')) {
            // Even an equal duplicate: llhttp refuses it (HPE_UNEXPECTED_CONTENT_LENGTH).
            if (contentLength >= 0) throw new ParseError('duplicate content-length');
            contentLength = parseContentLength(value);
            if (contentLength < 0 || hasHtab(bytes, stop, base + end)) throw new ParseError('invalid content-length');
          }
          break;
        case 16:
          if (equalsLower(name, 'proxy-connection')) connection |= connectionTokens(bytes, base + colon + 1, base + end);
          break;
        case 17:
          if (equalsLower(name, 'transfer-encoding')) {
            transferEncoding = true;
            // Several headers: the last non-empty one decides (llhttp ignores empty ones).
            if (stop > start) chunked = lastCodingIsChunked(bytes, start, stop, base + end);
          }
          break;
      }
      pos = end + 2;
    }
    // Which one frames the body is exactly what two parsers may disagree on (RFC 9112 §6.3 lets
    // a recipient treat it as an error; llhttp does, and so does this proxy: 502).
    if (contentLength >= 0 && transferEncoding) throw new ParseError('content-length with transfer-encoding');
    // `close<HTAB>` counts as close, `keep-alive<HTAB>` does not keep (llhttp versions differ).
    const connectionClose = (connection & (CONN_CLOSE | (CONN_CLOSE << CONN_TAB_SHIFT))) !== 0 || (http10 && (connection & CONN_KEEP_ALIVE) === 0);

    if (status < 200) {
      // 100 Continue, 103 Early Hints...: informational, the real response follows.
      if (status === 101) throw new ParseError('unexpected 101 on a pooled connection');
      // ...unless this one closes the connection (HTTP/1.0 without keep-alive, Connection:
      // close): then nothing may follow it (llhttp: HPE_CLOSED_CONNECTION), and no response will.
      if (connectionClose) throw new ParseError('interim response closes the connection');
      this.state = State.Head;
      return;
    }
    let keepAlive = !connectionClose;
    if (this.headOnly || status === 204 || status === 304) {
      this.state = State.Done;
    } else if (transferEncoding) {
      // Without chunked as the final coding, the body runs until the connection closes.
      if (chunked) this.chunked.reset();
      this.state = chunked ? State.Chunked : State.UntilClose;
      if (!chunked) keepAlive = false;
    } else if (contentLength >= 0) {
      this.remaining = contentLength;
      this.state = contentLength === 0 ? State.Done : State.Fixed;
    } else {
      this.state = State.UntilClose;
      keepAlive = false;
    }
    this.keepAlive = keepAlive;
    this.handler.onHead(status, raw, keepAlive);
  }
}

/**
 * Throws on a bare CR or LF in the incomplete head buf[start..], checked from `from`: an LF not
 * preceded by CR, a CR followed by anything but LF (a CR as the last byte waits for the next).
 * Only for heads split across reads, which are rare: a complete head is checked by parseHead.
 */
function checkLineEnds(buf: Buffer, start: number, from: number): void {
  for (let i = from; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === 0x0a) {
      if (i === start || buf[i - 1] !== 0x0d) throw new ParseError('bare LF in the response head');
    } else if (c === 0x0d && i + 1 < buf.length && buf[i + 1] !== 0x0a) {
      throw new ParseError('bare CR in the response head');
    }
  }
}

/**
 * Differential testing of the proxy's HTTP/1.1 parsers against llhttp (node's own parser):
 * - `llhttp()`: node's HTTPParser binding, strict (no lenient flags), on a whole byte stream;
 * - `startOurServer()`: the proxy's real H1Server (h1server.ts + h1request.ts + the strict
 *   ChunkedDecoder) on real 127.0.0.1 sockets, recording what it hands to its handlers;
 * - `ourResponse()`: the upstream-side ResponseParser fed in pieces;
 * - fast-check grammars for near-valid request and response streams.
 */
import fc from 'fast-check';
import { createRequire } from 'node:module';
import net from 'node:net';
import { METHODS } from 'node:http';
import { H1Server } from '../../../src/proxy/h1server.js';
import { ParseError, ResponseParser } from '../../../src/proxy/h1parser.js';

// ---------------------------------------------------------------------------------------------
// llhttp
// ---------------------------------------------------------------------------------------------

interface NodeHTTPParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | (Error & { code: string; reason?: string; bytesParsed?: number });
  finish(): undefined | (Error & { code: string; reason?: string });
  close(): void;
  [callback: number]: unknown;
}
interface HTTPParserClass {
  new (): NodeHTTPParser;
  REQUEST: number;
  RESPONSE: number;
  kOnMessageBegin: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kLenientNone: number;
}
const { HTTPParser } = createRequire(import.meta.url)('_http_common') as { HTTPParser: HTTPParserClass };

/**
 * llhttp reports a method as its own enum value, which node maps with an internal table
 * (allMethods, not exported): rebuilt here by parsing one request per method node knows.
 */
const methodNames = new Map<number, string>();
for (const m of METHODS) {
  const parser = new HTTPParser();
  parser.initialize(HTTPParser.REQUEST, {}, 0, HTTPParser.kLenientNone);
  parser[HTTPParser.kOnHeadersComplete] = (_a: number, _b: number, _h: unknown, index: number) => {
    methodNames.set(index, m);
    return 0;
  };
  parser.execute(Buffer.from(`${m} ${m === 'CONNECT' ? 'a:1' : '/'} HTTP/1.1\r\n\r\n`));
  parser.close();
}

export const MAX_HEADER_BYTES = 16 * 1024;

export interface LlMessage {
  method: string | null;
  url: string;
  status: number;
  headersComplete: boolean;
  upgrade: boolean;
  keepAlive: boolean;
  complete: boolean;
  body: Buffer;
}

export interface LlResult {
  messages: LlMessage[];
  /** The error execute() returned (code and reason), or null. */
  error: string | null;
  /** The error finish() returned at the end of the stream (a message cut short), or null. */
  eofError: string | null;
  /** execute() stopped before the end without an error (after an upgrade or CONNECT). */
  stoppedAt: number | null;
}

/**
 * Parses `bytes` as node does, in strict mode. Responses: `method` is the request's; as node's
 * client does (parserOnIncomingClient), the body is skipped for HEAD, 304 and 1xx but 101.
 */
export function llhttp(kind: 'request' | 'response', bytes: Buffer, method = 'GET'): LlResult {
  const parser = new HTTPParser();
  parser.initialize(kind === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE, {}, MAX_HEADER_BYTES, HTTPParser.kLenientNone);
  const messages: LlMessage[] = [];
  let cur: (LlMessage & { chunks: Buffer[] }) | null = null;
  parser[HTTPParser.kOnMessageBegin] = () => {
    cur = { method: null, url: '', status: 0, headersComplete: false, upgrade: false, keepAlive: false, complete: false, body: Buffer.alloc(0), chunks: [] };
    messages.push(cur);
  };
  parser[HTTPParser.kOnHeaders] = (_headers: string[], url: string | undefined) => {
    // Headers flushed early; after headers-complete these are trailers (ignored).
    if (cur !== null && !cur.headersComplete && url) cur.url += url;
  };
  parser[HTTPParser.kOnHeadersComplete] = (
    _major: number,
    _minor: number,
    _headers: string[] | undefined,
    methodIndex: number | undefined,
    url: string | undefined,
    status: number | undefined,
    _reason: string | undefined,
    upgrade: boolean,
    keepAlive: boolean,
  ): number => {
    const m = cur!;
    m.headersComplete = true;
    if (url) m.url += url;
    m.method = methodIndex === undefined ? null : (methodNames.get(methodIndex) ?? `#${methodIndex}`);
    m.status = status ?? 0;
    m.upgrade = upgrade;
    m.keepAlive = keepAlive;
    if (kind === 'response' && (method === 'HEAD' || m.status === 304 || (m.status >= 100 && m.status < 200 && m.status !== 101))) return 1;
    return 0;
  };
  parser[HTTPParser.kOnBody] = (chunk: Buffer) => {
    cur!.chunks.push(Buffer.from(chunk));
  };
  parser[HTTPParser.kOnMessageComplete] = () => {
    cur!.complete = true;
  };
  const r = parser.execute(bytes);
  let error: string | null = null;
  let eofError: string | null = null;
  let stoppedAt: number | null = null;
  if (typeof r !== 'number') {
    error = `${r.code}: ${r.reason ?? r.message}`;
  } else {
    if (r < bytes.length) stoppedAt = r;
    const f = parser.finish();
    if (f !== undefined) eofError = `${f.code}: ${f.reason ?? f.message}`;
  }
  parser.close();
  for (const m of messages as (LlMessage & { chunks?: Buffer[] })[]) {
    m.body = Buffer.concat(m.chunks!);
    delete m.chunks;
  }
  return { messages, error, eofError, stoppedAt };
}

// ---------------------------------------------------------------------------------------------
// Our request side: the real H1Server on a real socket
// ---------------------------------------------------------------------------------------------

export interface OurRequests {
  /** Every request head the server handed to a handler, in order. */
  heads: { method: string; url: string; upgrade: boolean }[];
  /** Bodies of the requests whose body was complete (the first `bodies.length` heads). */
  bodies: Buffer[];
  /** Status codes the server wrote itself (400, 431, 417...), not our handler's 200 or its 100 Continue. */
  refused: number[];
  /** A response closed the connection (Connection: close, HTTP/1.0): later bytes are never read. */
  closedAfterResponse: boolean;
  /** An upgrade or CONNECT took the socket: later bytes are not parsed as HTTP. */
  handedOver: boolean;
}

export interface OurServer {
  /** Sends `bytes` on a new connection, cut at `cuts` (offsets) into separate reads. */
  send(bytes: Buffer, cuts?: number[]): Promise<OurRequests>;
  close(): Promise<void>;
}

/**
 * The proxy's server on 127.0.0.1 with handlers that record each request and answer it with an
 * empty 200 once its body is complete (so pipelined requests go on). One exchange at a time:
 * `send` connects, writes the bytes, half-closes, and resolves once the server closed its side.
 * Each piece is written once the server has read the previous one, so that the server sees
 * exactly these reads (the incremental paths of the head parser and the chunked decoder).
 */
export async function startOurServer(): Promise<OurServer> {
  let rec: OurRequests | null = null;
  let serverClosed: (() => void) | null = null;
  /** Bytes the server has read on the current connection, and whether it closed. */
  let received = 0;
  let closed = false;
  let progress: (() => void) | null = null;
  const h1 = new H1Server(
    {
      maxHeaderBytes: MAX_HEADER_BYTES,
      maxHeaders: 100,
      headersTimeoutMs: 60_000,
      requestTimeoutMs: 60_000,
      keepAliveTimeoutMs: 60_000,
      idleTimeoutMs: 60_000,
    },
    {
      onRequest(req, res) {
        const r = rec!;
        r.heads.push({ method: req.method, url: req.url, upgrade: false });
        const chunks: Buffer[] = [];
        const respond = () => {
          r.bodies.push(Buffer.concat(chunks));
          res.writeHead(200, ['content-length', '0']);
          if (res.closeAfter) r.closedAfterResponse = true;
          res.end();
        };
        if (req.complete) respond();
        else {
          req.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
          req.on('end', respond);
        }
      },
      onUpgrade(req, socket) {
        rec!.heads.push({ method: req.method, url: req.url, upgrade: true });
        rec!.handedOver = true;
        socket.destroy();
      },
      onConnect(req, socket) {
        rec!.heads.push({ method: req.method, url: req.url, upgrade: true });
        rec!.handedOver = true;
        socket.destroy();
      },
      onIdle(socket) {
        socket.destroy();
      },
    },
  );
  const server = net.createServer((socket) => {
    // Record what the server itself answers (its refusals), at the source: deterministic, unlike
    // reading it back from a connection the server may reset.
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    socket.write = ((...args: unknown[]) => {
      const data = args[0];
      const text = typeof data === 'string' ? data.slice(0, 13) : Buffer.isBuffer(data) ? data.toString('latin1', 0, 13) : '';
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
      if (m && m[1] !== '200' && m[1] !== '100') rec?.refused.push(Number(m[1]));
      return write(...args);
    }) as typeof socket.write;
    socket.on('close', () => {
      closed = true;
      progress?.();
      serverClosed?.();
    });
    h1.handle(socket);
    // After the server's own listener: called once it has dealt with the read.
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      progress?.();
    });
  });
  const serverHasRead = (n: number) =>
    new Promise<void>((resolve) => {
      progress = () => {
        if (received >= n || closed) {
          progress = null;
          resolve();
        }
      };
      progress();
    });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    send(bytes, cuts = []) {
      rec = { heads: [], bodies: [], refused: [], closedAfterResponse: false, handedOver: false };
      received = 0;
      closed = false;
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b);
      const result = rec;
      return new Promise((resolve, reject) => {
        let pending = 2; // the client's socket and the server's socket both closed
        const done = () => {
          if (--pending === 0) {
            clearTimeout(timer);
            serverClosed = null;
            resolve(result);
          }
        };
        serverClosed = done;
        const client = net.connect(port, '127.0.0.1');
        const timer = setTimeout(() => {
          client.destroy();
          reject(new Error(`no close from the server within 5 s for ${jsLiteral(bytes.toString('latin1'))}`));
        }, 5000);
        client.on('error', () => {});
        client.on('data', () => {});
        client.on('close', done);
        client.on('connect', async () => {
          let from = 0;
          for (const at of points) {
            if (client.destroyed) return;
            client.write(bytes.subarray(from, at));
            from = at;
            await serverHasRead(at);
          }
          client.end(bytes.subarray(from));
        });
      });
    },
    async close() {
      h1.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Our response side: ResponseParser
// ---------------------------------------------------------------------------------------------

export interface OurResponse {
  /** The final response's head, as onHead reported it. */
  head: { status: number; keepAlive: boolean } | null;
  body: Buffer;
  complete: boolean;
  /** Completed by finish() (close-delimited body). */
  completedAtClose: boolean;
  error: string | null;
  /** How many times onHead was called (1xx responses are skipped, so at most once). */
  heads: number;
}

/** Feeds `bytes` to a fresh ResponseParser cut at `cuts` (offsets), then closes the connection. */
export function ourResponse(bytes: Buffer, method: string, cuts: number[]): OurResponse {
  const out: OurResponse = { head: null, body: Buffer.alloc(0), complete: false, completedAtClose: false, error: null, heads: 0 };
  const chunks: Buffer[] = [];
  const parser = new ResponseParser(MAX_HEADER_BYTES, {
    onHead: (status, _raw, keepAlive) => {
      out.heads++;
      out.head = { status, keepAlive };
    },
    onBody: (c) => chunks.push(Buffer.from(c)),
    onComplete: () => (out.complete = true),
  });
  parser.start(method);
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  try {
    for (const at of [...points, bytes.length]) {
      if (at > from || (at === bytes.length && from === 0)) parser.execute(bytes.subarray(from, at));
      from = Math.max(from, at);
    }
    if (!out.complete && parser.finish()) out.completedAtClose = out.complete = true;
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    out.error = err.message;
    out.complete = false;
  }
  out.body = Buffer.concat(chunks);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------------------------

/** A JS string literal for latin1 text, with every non-printable byte escaped. */
export function jsLiteral(s: string): string {
  let out = "'";
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch === '\r') out += '\\r';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === "'" || ch === '\\') out += `\\${ch}`;
    else if (c < 0x20 || c >= 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}'`;
}

// ---------------------------------------------------------------------------------------------
// Grammar: near-valid HTTP/1.1 messages (latin1 strings)
// ---------------------------------------------------------------------------------------------

function weighted<T>(common: fc.Arbitrary<T>, rare: fc.Arbitrary<T>, rareWeight = 1, commonWeight = 8): fc.Arbitrary<T> {
  return fc.oneof({ arbitrary: common, weight: commonWeight }, { arbitrary: rare, weight: rareWeight });
}

/** A line ending: CRLF, sometimes a bare LF, a bare CR or stray whitespace. */
export const eolArb = weighted(fc.constant('\r\n'), fc.constantFrom('\n', '\r', '\r\r\n', ' \r\n', '\t\r\n', '\n\r', '\r\n '), 1, 60);

const oddChar = fc.constantFrom('a', 'Z', '0', ' ', '\t', ':', ',', ';', '"', '=', '\\', '\x00', '\x01', '\x0b', '\x0c', '\x1f', '\x7f', '\x80', '\xa0', '\xff', '\r', '\n');

/** Body bytes: random, or text that looks like the start of another message. */
export const bodyArb = fc.oneof(
  { arbitrary: fc.string({ unit: fc.constantFrom('a', 'b', '0', '1', ' ', '\r', '\n', ';', 'G', '\x00', '\xff'), maxLength: 12 }), weight: 5 },
  { arbitrary: fc.constantFrom('GET /s HTTP/1.1\r\nHost: a\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', '0\r\n\r\n', '\r\n'), weight: 1 },
);

/** A Content-Length value for a body of `n` bytes: mostly right, sometimes off or malformed. */
export function contentLengthValue(n: number): fc.Arbitrary<string> {
  return weighted(
    fc.constant(String(n)),
    fc.constantFrom(
      `0${n}`,
      ` ${n}`,
      `${n} `,
      `${n}\t`,
      `+${n}`,
      `-${n}`,
      `${n},${n}`,
      `${n}, ${n}`,
      String(n + 1),
      String(Math.max(0, n - 1)),
      '',
      'x',
      `${n}.0`,
      `0x${n.toString(16)}`,
      '1e1',
      '99999999999999999999',
      `\x0b${n}`,
      `${n}\x00`,
      `${n} ${n}`,
    ),
    1,
    7,
  );
}

export const transferEncodingValue = weighted(
  fc.constant('chunked'),
  fc.constantFrom(
    'Chunked',
    'CHUNKED',
    'gzip, chunked',
    'gzip,chunked',
    'chunked, gzip',
    'chunked,',
    ',chunked',
    ' chunked',
    'chunked ',
    'chunked\t',
    'chunked;q=1',
    'xchunked',
    'chunkedx',
    'chunk ed',
    'identity',
    'gzip',
    'chunked, chunked',
    '',
    '\x0bchunked',
    'chunked\x0b',
  ),
  1,
  5,
);

/** The size line of a chunk of `n` bytes, with the odd forms parsers disagree on. */
export function chunkSizeLine(n: number): fc.Arbitrary<string> {
  const hex = n.toString(16);
  return weighted(
    fc.constantFrom(hex, hex.toUpperCase()),
    fc.constantFrom(
      `0${hex}`,
      `000000000000${hex}`,
      (n + 1).toString(16),
      Math.max(0, n - 1).toString(16),
      `${hex} `,
      `${hex}\t`,
      ` ${hex}`,
      `${hex};a`,
      `${hex};a=b`,
      `${hex};a="b c"`,
      `${hex};a="\\""`,
      `${hex};a=b;c`,
      `${hex}; a=b`,
      `${hex} ;a=b`,
      `${hex};a =b`,
      `${hex};a= b`,
      `${hex};`,
      `${hex};=b`,
      `${hex};a=`,
      `${hex};a=b c`,
      `${hex};a="b`,
      `${hex};a=\x00`,
      `${hex};a="\x7f"`,
      `${hex};a=\x80`,
      `${hex};a="\x80"`,
      `${hex};a\tb`,
      `0x${hex}`,
      `+${hex}`,
      `-${hex}`,
      '',
      `${hex}g`,
      'ffffffffffffffffff',
    ),
    1,
    5,
  );
}

const trailerArb = weighted(
  fc.constant(''),
  fc.constantFrom('X-T: v\r\n', 'Content-Length: 5\r\n', 'X-T:\r\n', 'bad trailer\r\n', ' X-T: v\r\n', 'X T: v\r\n', 'X-T: \x00\r\n', 'X-T: v\n', ':v\r\n', 'X-T: v\r\nX-U: w\r\n'),
  1,
  4,
);

/** A chunked body as sent: 0-3 chunks, the last chunk, trailers; odd sizes, extensions and line ends. */
export const chunkedBodyArb: fc.Arbitrary<string> = fc
  .tuple(fc.array(bodyArb.filter((b) => b.length > 0), { maxLength: 3 }), fc.constantFrom('0', '0', '0', '00', '0;a=b', '0 ', '0;'), trailerArb)
  .chain(([chunks, last, trailers]) =>
    fc.tuple(fc.tuple(...chunks.map((c) => fc.tuple(chunkSizeLine(c.length), eolArb, weighted(fc.constant('\r\n'), fc.constantFrom('', '\n', '\r', 'x\r\n'), 1, 20)))), eolArb, eolArb).map(
      ([lines, lastEol, endEol]) =>
        chunks.map((c, i) => `${lines[i]![0]}${lines[i]![1]}${c}${lines[i]![2]}`).join('') + `${last}${lastEol}${trailers}${endEol}`,
    ),
  );

/** How a message declares and carries its body: header lines and the bytes after the head. */
export interface Framing {
  headers: string[];
  body: string;
}

const name = (canonical: string, lower: string) => weighted(fc.constant(canonical), fc.constantFrom(lower, canonical.toUpperCase(), `${canonical} `, `${canonical}\t`, ` ${canonical}`), 1, 12);
const colon = weighted(fc.constant(': '), fc.constantFrom(':', ':\t', ':  ', ': \t'), 1, 3);

function headerLine(n: fc.Arbitrary<string>, v: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(n, colon, v, weighted(fc.constant(''), fc.constantFrom(' ', '\t', '  ')), eolArb).map((p) => p.join(''));
}

/** One header line, sometimes two (a duplicate, with its own value). */
function oneOrTwo(line: fc.Arbitrary<string>): fc.Arbitrary<string[]> {
  return weighted(
    line.map((l) => [l]),
    fc.tuple(line, line),
    1,
    6,
  );
}

export const framingArb: fc.Arbitrary<Framing> = fc.oneof(
  // no body
  { arbitrary: fc.constant<Framing>({ headers: [], body: '' }), weight: 3 },
  // Content-Length
  {
    arbitrary: bodyArb.chain((body) => oneOrTwo(headerLine(name('Content-Length', 'content-length'), contentLengthValue(body.length))).map((headers) => ({ headers, body }))),
    weight: 4,
  },
  // chunked
  { arbitrary: fc.tuple(oneOrTwo(headerLine(name('Transfer-Encoding', 'transfer-encoding'), transferEncodingValue)), chunkedBodyArb).map(([headers, body]) => ({ headers, body })), weight: 4 },
  // both (the classic smuggling shape)
  {
    arbitrary: fc.tuple(headerLine(name('Transfer-Encoding', 'transfer-encoding'), transferEncodingValue), chunkedBodyArb).chain(([te, body]) =>
      fc.tuple(headerLine(name('Content-Length', 'content-length'), contentLengthValue(body.length)), fc.boolean()).map(([cl, first]) => ({ headers: first ? [cl, te] : [te, cl], body })),
    ),
    weight: 1,
  },
  // bytes with no framing header (a body only when close-delimited)
  { arbitrary: bodyArb.map((body) => ({ headers: [], body })), weight: 2 },
);

const genericName = weighted(
  fc.constantFrom('X-A', 'Accept', 'x-b', "X!#$%&'*+-.^_`|~1"),
  fc.constantFrom('X A', 'X\tA', 'X\x00', 'X\x7f', 'X\x80', 'X(', 'X"', '', 'X@', ' X-A', '\tX-A', 'X-A ', 'X/A', 'X=A'),
  1,
  25,
);
const genericValue = weighted(fc.constantFrom('v', '', 'a, b', 'a;b=c', '"q"', 'a  b'), fc.string({ unit: oddChar, maxLength: 6 }), 1, 15);

/** Header lines other than framing: generic ones, Connection, Expect, Upgrade, obs-fold. */
export const otherHeaderArb = fc.oneof(
  { arbitrary: headerLine(genericName, genericValue), weight: 40 },
  { arbitrary: headerLine(name('Connection', 'connection'), fc.constantFrom('keep-alive', 'close', 'Keep-Alive', 'Close', 'upgrade', 'keep-alive, upgrade', 'close, upgrade', 'te', 'closed', 'x-close', 'keep-alive, close')), weight: 5 },
  { arbitrary: headerLine(name('Expect', 'expect'), fc.constantFrom('100-continue', '100-Continue', 'foo')), weight: 1 },
  { arbitrary: headerLine(name('Upgrade', 'upgrade'), fc.constantFrom('websocket', 'h2c', '')), weight: 1 },
  { arbitrary: fc.constantFrom(' folded\r\n', '\tfolded\r\n', ' \r\n'), weight: 1 },
);

/** Puts the framing headers among the others at positions taken from `at`. */
export function interleave(others: string[], framing: string[], at: number[]): string[] {
  const out = [...others];
  framing.forEach((h, i) => out.splice((at[i] ?? 0) % (out.length + 1), 0, h));
  return out;
}

/** A few random single-byte edits (insert, replace, delete) of CR, LF, whitespace and the like. */
export const mutationsArb = weighted(
  fc.constant<[number, number, string][]>([]),
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 2 }), fc.constantFrom('\r', '\n', ' ', '\t', '\x00', ':', ';', '0', 'a', '\x7f', '\x80', '\x0b')), { minLength: 1, maxLength: 2 }),
  1,
  9,
);

export function mutate(s: string, edits: [number, number, string][]): string {
  for (const [pos, op, ch] of edits) {
    const i = s.length === 0 ? 0 : pos % s.length;
    if (op === 0) s = s.slice(0, i) + ch + s.slice(i);
    else if (op === 1) s = s.slice(0, i) + ch + s.slice(i + 1);
    else s = s.slice(0, i) + s.slice(i + 1);
  }
  return s;
}

/** Sometimes the stream ends early (the peer closed mid-message). */
export const truncationArb = weighted(fc.constant<number | null>(null), fc.nat(), 1, 14);

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

const methodArb = fc.oneof(
  { arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'), weight: 50 },
  { arbitrary: fc.constantFrom(...METHODS), weight: 4 },
  { arbitrary: fc.constantFrom('get', 'FOO', 'GE', 'GETT', 'G\x00T', 'PRI', '', 'GET\t', 'M-SEARCH'), weight: 1 },
);
const targetArb = fc.oneof(
  { arbitrary: fc.constantFrom('/', '/a', '/a/b?c=d&e', '/x#f', '/%41', '/a;b'), weight: 40 },
  { arbitrary: fc.constantFrom('*', 'http://h/x', 'https://h:1/', 'h:80', 'http://a@b@c/', 'http://', 'a+b://x', 'http:///x', 'http://[::1]/', '//a', '?a', 'a'), weight: 3 },
  { arbitrary: fc.string({ unit: fc.constantFrom('a', '/', '?', '#', '%', '\t', '\x00', '\x7f', '\x80', '\xff', '"', '<', '{', '|', '\\', '^', '`'), maxLength: 5 }).map((s) => `/${s}`), weight: 1 },
);
const spArb = weighted(fc.constant(' '), fc.constantFrom('  ', '\t', '', ' \t'), 1, 60);
const versionArb = weighted(
  fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0'),
  fc.constantFrom('HTTP/2.0', 'HTTP/1.2', 'http/1.1', 'HTTP/1.10', 'HTTP/0.9', 'HTTP/1', 'HTTP/11', 'HTTP /1.1', 'HTTP/1.1 '),
  1,
  80,
);
const hostArb = weighted(fc.constant('Host: a\r\n'), fc.constantFrom('', 'Host: a\r\nHost: b\r\n', 'Host:\r\n', 'host: a b\r\n', 'Host: a\n'), 1, 20);

const requestArb = fc
  .record({
    lead: weighted(fc.constant(''), fc.constantFrom('\r\n', '\n', '\r\n\r\n', ' ', '\r'), 1, 15),
    method: methodArb,
    sp1: spArb,
    target: targetArb,
    sp2: spArb,
    version: versionArb,
    eol: eolArb,
    host: hostArb,
    others: fc.array(otherHeaderArb, { maxLength: 3 }),
    framing: framingArb,
    at: fc.array(fc.nat(), { maxLength: 2 }),
    end: eolArb,
  })
  .map((r) => `${r.lead}${r.method}${r.sp1}${r.target}${r.sp2}${r.version}${r.eol}${interleave([r.host, ...r.others], r.framing.headers, r.at).join('')}${r.end}${r.framing.body}`);

/** 1-3 pipelined requests, sometimes edited a little, sometimes cut short. */
export const requestStreamArb = fc
  .tuple(fc.array(requestArb, { minLength: 1, maxLength: 3 }), mutationsArb, truncationArb)
  .map(([requests, edits, cut]) => {
    const s = mutate(requests.join(''), edits);
    return cut === null ? s : s.slice(0, cut % (s.length + 1));
  })
  .filter((s) => s.length > 0);

export function show(b: Buffer): string {
  return jsLiteral(b.toString('latin1'));
}

export function llStatus(ll: LlResult): string {
  return ll.error ?? ll.eofError ?? (ll.stoppedAt !== null ? `stopped at byte ${ll.stoppedAt}` : 'ok');
}

/** What ours did that llhttp would not have done; null when they agree (or ours is just stricter). */
export function requestDisagreement(ours: OurRequests, ll: LlResult): string | null {
  for (const [i, o] of ours.heads.entries()) {
    const l = ll.messages[i];
    if (l === undefined || !l.headersComplete) return `ours accepted the head of request #${i + 1} (${o.method} ${jsLiteral(o.url)}), llhttp did not (${llStatus(ll)})`;
    if (l.method !== o.method || l.url !== o.url) return `request #${i + 1}: ours ${o.method} ${jsLiteral(o.url)}, llhttp ${l.method} ${jsLiteral(l.url)}`;
    if (l.upgrade !== o.upgrade) return `request #${i + 1}: upgrade or CONNECT for ours: ${o.upgrade}, for llhttp: ${l.upgrade}`;
  }
  for (const [i, body] of ours.bodies.entries()) {
    const l = ll.messages[i]!;
    if (!l.complete) return `ours completed request #${i + 1} with body ${show(body)}, llhttp did not (${llStatus(ll)})`;
    if (!l.body.equals(body)) return `request #${i + 1}: body for ours ${show(body)}, for llhttp ${show(l.body)}`;
  }
  const stopped = ours.refused.length > 0 || ours.closedAfterResponse || ours.handedOver;
  const next = ll.messages[ours.bodies.length];
  if (!stopped && next?.complete && !next.upgrade) {
    return ours.heads.length > ours.bodies.length
      ? `request #${ours.bodies.length + 1}: llhttp complete with body ${show(next.body)}, ours still waiting for body bytes`
      : `request #${ours.bodies.length + 1} (${next.method} ${jsLiteral(next.url)}): complete for llhttp, ours still waiting for its head`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

const statusLineArb = fc
  .tuple(
    weighted(fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0'), fc.constantFrom('HTTP/1.2', 'HTTP/2', 'http/1.1', 'HTTP/1.10', 'HTTP/0.9', 'HTTP/1.1 '), 1, 60),
    spArb,
    fc.oneof(
      { arbitrary: fc.constant('200'), weight: 12 },
      { arbitrary: fc.constantFrom('201', '204', '206', '301', '304', '404', '500', '100', '199', '999'), weight: 6 },
      { arbitrary: fc.constantFrom('101', '099', '000', '20', '2000', '2x0', '-20', '+20'), weight: 1 },
    ),
    weighted(fc.constantFrom(' OK', ' Not Found', '', ' ', ' A B'), fc.oneof(fc.constantFrom('  OK', '\tOK', 'OK', ' OK '), fc.string({ unit: oddChar, maxLength: 4 }).map((r) => ` ${r}`)), 1, 20),
    eolArb,
  )
  .map((p) => p.join(''));

const interimArb = fc.constantFrom(
  'HTTP/1.1 100 Continue\r\n\r\n',
  'HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n',
  'HTTP/1.1 102 Processing\r\nContent-Length: 5\r\n\r\n',
  'HTTP/1.1 100 Continue\r\nTransfer-Encoding: chunked\r\n\r\n',
  'HTTP/1.0 100 Continue\r\n\r\n',
  'HTTP/1.1 100\r\n\r\n',
);

const responseArb = fc
  .record({
    interim: weighted(fc.constant<string[]>([]), fc.array(interimArb, { minLength: 1, maxLength: 2 }), 1, 4),
    status: statusLineArb,
    others: fc.array(otherHeaderArb, { maxLength: 3 }),
    framing: framingArb,
    at: fc.array(fc.nat(), { maxLength: 2 }),
    end: eolArb,
  })
  .map((r) => `${r.interim.join('')}${r.status}${interleave(r.others, r.framing.headers, r.at).join('')}${r.end}${r.framing.body}`);

/**
 * One response (after 0-2 interim ones) to a GET, HEAD or POST; sometimes followed by stray
 * bytes, edited a little or cut short; `cuts`: where ours gets it in pieces.
 */
export const responseStreamArb = fc
  .record({
    method: weighted(fc.constant('GET'), fc.constantFrom('HEAD', 'POST'), 1, 3),
    response: responseArb,
    stray: weighted(fc.constant(''), fc.constantFrom('\r\n', 'x', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), 1, 15),
    edits: mutationsArb,
    cut: truncationArb,
    cuts: fc.array(fc.nat(), { maxLength: 4 }),
  })
  .map(({ method, response, stray, edits, cut, cuts }) => {
    const s = mutate(response + stray, edits);
    return { method, text: cut === null ? s : s.slice(0, cut % (s.length + 1)), cuts };
  })
  .filter((r) => r.text.length > 0);

/** What ours did that llhttp would not have done; null when they agree (or ours is just stricter). */
export function responseDisagreement(ours: OurResponse, ll: LlResult, method: string): string | null {
  if (ours.heads > 1) return `ours reported ${ours.heads} response heads`;
  // llhttp reports 1xx responses as messages of their own; ours skips them.
  const final = ll.messages.find((m) => !(m.complete && m.status >= 100 && m.status < 200 && m.status !== 101));
  if (ours.head !== null) {
    if (final === undefined || !final.headersComplete) return `ours accepted the head (status ${ours.head.status}), llhttp did not (${llStatus(ll)})`;
    if (final.status !== ours.head.status) return `status for ours ${ours.head.status}, for llhttp ${final.status}`;
  }
  if (ours.complete) {
    if (!final?.complete) return `ours completed the response${ours.completedAtClose ? ' at close' : ''} with body ${show(ours.body)}, llhttp did not (${llStatus(ll)})`;
    if (!final.body.equals(ours.body)) return `body for ours ${show(ours.body)}, for llhttp ${show(final.body)}`;
    // (Not for HEAD: node computes llhttp's keep-alive before the body is skipped.)
    if (method !== 'HEAD' && ours.head!.keepAlive && !final.keepAlive) return 'ours would reuse the connection, llhttp would not (keep-alive)';
  } else if (ours.error === null && final?.complete && llStatus(ll) === 'ok') {
    return `llhttp complete with body ${show(final.body)}, ours still waiting (received ${show(ours.body)})`;
  }
  return null;
}

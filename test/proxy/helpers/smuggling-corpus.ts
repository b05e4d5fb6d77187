/**
 * Differential request-smuggling corpus and the strict framing reader used to judge it.
 *
 * Shared by test/proxy/differential.test.ts (vitest) and bench/proxy/differential.js (which
 * compiles this file with esbuild on the fly), so both run exactly the same cases.
 *
 * The cases were written from public research, not copied:
 * - PortSwigger, "HTTP Desync Attacks" (2019) and its follow-ups: CL.TE, TE.CL and TE.TE with
 *   obfuscated Transfer-Encoding headers (`xchunked`, space or tab before the colon, duplicate
 *   headers, `chunked, identity`, vertical tab, quoted value, obs-fold);
 * - the HTTP Garden differential fuzzing findings (Kallus et al.): bare CR, NUL bytes, chunk
 *   extensions with odd bytes, chunk-size overflow and `0x`/`+`/leading-zero sizes, `+5`/hex/
 *   negative Content-Length, whitespace in chunk-size lines, LF-only line endings, obs-fold,
 *   header names with spaces, HTTP/0.9, HTTP/1.0 with Transfer-Encoding, many CRLFs before a
 *   request line;
 * - the shape of llhttp's test/request/*.md cases (content-length, transfer-encoding, invalid,
 *   connection), re-written here for a proxy (Host headers added where the case is about framing);
 * - hop-by-hop abuse (RFC 9110 §7.6.1): a Connection header naming Content-Length,
 *   Transfer-Encoding or Host, which a proxy that obeys it blindly strips, leaving the body
 *   unframed on a pooled upstream connection.
 *
 * Nothing here knows what the proxy under test will answer: the judgement is differential (what the
 * backend received must be exactly the requests the proxy answered for, each properly framed).
 */
import { Buffer } from 'node:buffer';
import net from 'node:net';

export interface SmugglingCase {
  name: string;
  bytes: Buffer | string;
  note?: string;
  /**
   * For well-formed requests only: how many requests any conforming proxy forwards (and answers
   * with the backend's 200). Hostile cases leave it out: rejecting them is as good as forwarding.
   */
  expectForwarded?: number;
  /** The client stops in the middle of a request on purpose: one incomplete request upstream is fine. */
  truncated?: boolean;
  /** Sent on a second, fresh client connection once the first exchange is over (the victim). */
  followUp?: Buffer | string;
}

// ---------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------

const CRLF = '\r\n';
/** A head from its lines (request line and header lines, no terminators), then the body. */
function msg(lines: string[], body = ''): string {
  return lines.join(CRLF) + CRLF + CRLF + body;
}
function chunk(data: string): string {
  return `${data.length.toString(16)}${CRLF}${data}${CRLF}`;
}
const LAST = `0${CRLF}${CRLF}`;
const HOST = 'Host: example.com';
/** A complete request that must never reach the backend as a request of its own. */
export const SMUGGLED = msg(['GET /smuggled HTTP/1.1', HOST]);
/** A second request that is legitimately pipelined. */
const SECOND = msg(['GET /second HTTP/1.1', HOST]);
/** Same as SMUGGLED, with a body large enough to swallow the next request on the connection. */
const SMUGGLED_SWALLOW = msg(['POST /smuggled HTTP/1.1', HOST, 'Content-Length: 200']);

/** Content-Length + body. */
function withBody(lines: string[], body: string): string {
  return msg([...lines, `Content-Length: ${body.length}`], body);
}

// ---------------------------------------------------------------------------------------------
// The captured-request scenario (hop-by-hop Content-Length removal + connection reuse)
// ---------------------------------------------------------------------------------------------

const CAPTURE_BODY = msg(['POST /capture HTTP/1.1', 'Host: a', 'Content-Length: 500']);
export const VICTIM_SECRET = 'Bearer secret';
export const capturedRequest = {
  /** Body framed by Content-Length, and Connection naming content-length. */
  attacker: msg(['POST /submit HTTP/1.1', HOST, `Content-Length: ${CAPTURE_BODY.length}`, 'Connection: content-length'], CAPTURE_BODY),
  /** A different client, on a different connection, sent afterwards. */
  victim: msg(['GET /private HTTP/1.1', HOST, `Authorization: ${VICTIM_SECRET}`, 'Cookie: session=victim']),
};

// ---------------------------------------------------------------------------------------------
// The corpus
// ---------------------------------------------------------------------------------------------

const SB = SMUGGLED; // body that is a whole request
const TE = 'Transfer-Encoding';

export const corpus: SmugglingCase[] = [
  // --- well-formed controls (the harness must see these forwarded) ---
  { name: 'valid: GET', bytes: msg(['GET / HTTP/1.1', HOST]), expectForwarded: 1 },
  { name: 'valid: POST with Content-Length', bytes: withBody(['POST /form HTTP/1.1', HOST], 'hello=world'), expectForwarded: 1 },
  { name: 'valid: POST chunked', bytes: msg(['POST /up HTTP/1.1', HOST, `${TE}: chunked`], chunk('hello') + chunk(' world') + LAST), expectForwarded: 1 },
  {
    name: 'valid: chunk extensions (token and quoted)',
    bytes: msg(['POST /ext HTTP/1.1', HOST, `${TE}: chunked`], '5;ilovew3;somuchlove=aretheseparametersfor\r\nhello\r\n6;blah="a \\"b\\""\r\n world\r\n0\r\n\r\n'),
    expectForwarded: 1,
    note: 'llhttp "Chunk extensions"',
  },
  { name: 'valid: chunked with trailers', bytes: msg(['POST /tr HTTP/1.1', HOST, `${TE}: chunked`], chunk('hello') + '0\r\nVary: *\r\nX-Trailer: 1\r\n\r\n'), expectForwarded: 1 },
  { name: 'valid: pipelined GET + GET', bytes: msg(['GET /1 HTTP/1.1', HOST]) + msg(['GET /2 HTTP/1.1', HOST]), expectForwarded: 2 },
  { name: 'valid: pipelined POST(CL) + GET', bytes: withBody(['POST /1 HTTP/1.1', HOST], 'q=42') + msg(['GET /2 HTTP/1.1', HOST]), expectForwarded: 2 },
  { name: 'valid: pipelined chunked + GET', bytes: msg(['POST /1 HTTP/1.1', HOST, `${TE}: chunked`], chunk('abc') + LAST) + SECOND, expectForwarded: 2 },
  { name: 'valid: HTTP/1.0 without Host', bytes: msg(['GET /old HTTP/1.0']), expectForwarded: 1 },
  { name: 'valid: mixed-case Content-Length (HTTP/1.0)', bytes: msg(['GET /funky HTTP/1.0', 'conTENT-Length: 5'], 'HELLO'), expectForwarded: 1, note: 'llhttp "Funky Content-Length with body"' },
  { name: 'valid: GET with a body', bytes: withBody(['GET /q HTTP/1.1', HOST], 'abc'), expectForwarded: 1 },
  // RFC 9110 allows the tabs (OWS), Node 20's llhttp refuses them; the proxy sides with llhttp:
  // refusing costs nothing, a parser disagreement could.
  { name: 'Content-Length with OWS tabs: refused as llhttp does', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: \t 5 \t'], 'hello'), expectForwarded: 0 },
  { name: 'valid: Content-Length with trailing spaces', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: 5  '], 'hello'), expectForwarded: 1 },

  // --- CL.TE / TE.CL and TE obfuscations (PortSwigger) ---
  { name: 'CL.TE: Content-Length and chunked', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: 13', `${TE}: chunked`], '0\r\n\r\nSMUGGLED') },
  { name: 'TE.CL: chunked and short Content-Length', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: 3', `${TE}: chunked`], '8\r\nSMUGGLED\r\n0\r\n\r\n') },
  { name: 'TE.TE: xchunked', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: 4', `${TE}: xchunked`], '5c\r\n' + SB) },
  { name: 'TE.TE: space before colon', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: 4', `${TE} : chunked`], chunk(SB) + LAST) },
  { name: 'TE.TE: tab before colon', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: 4', `${TE}\t: chunked`], chunk(SB) + LAST) },
  { name: 'TE.TE: value " chunked" (leading space)', bytes: msg(['POST / HTTP/1.1', HOST, `${TE}:  chunked`], chunk(SB) + LAST), note: 'OWS: valid, must still be chunked' },
  { name: 'TE.TE: chunked, identity', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: 4', `${TE}: chunked, identity`], chunk(SB) + LAST) },
  { name: 'TE.TE: deflate, chunked (no CL)', bytes: msg(['POST / HTTP/1.1', HOST, `${TE}: deflate, chunked`], '5\r\nWorld\r\n0\r\n\r\n'), note: 'llhttp "chunked as last transfer-encoding"' },
  { name: 'TE.TE: duplicate TE (chunked, x)', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: 4', `${TE}: chunked`, `${TE}: x`], chunk(SB) + LAST) },
  { name: 'TE.TE: vertical tab before value', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: 4', `${TE}:\x0bchunked`], chunk(SB) + LAST) },
  { name: 'TE.TE: quoted "chunked"', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: 4', `${TE}: "chunked"`], chunk(SB) + LAST) },
  { name: 'TE.TE: chunkedchunked', bytes: msg(['POST / HTTP/1.1', HOST, `${TE}: chunkedchunked`], '5\r\nWorld\r\n0\r\n\r\n') },
  { name: 'TE.TE: Transfer_Encoding (underscore)', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: 4', 'Transfer_Encoding: chunked'], chunk(SB) + LAST) },
  { name: 'TE.TE: obs-fold value', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: 4', `${TE}:`, ' chunked'], chunk(SB) + LAST) },
  { name: 'TE.TE: space before header name', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: 4', ` ${TE}: chunked`], chunk(SB) + LAST) },
  { name: 'TE.TE: LF-only line before TE', bytes: 'POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 4\r\nx: x\nTransfer-Encoding: chunked\r\n\r\n' + chunk(SB) + LAST, note: 'llhttp "Headers separated by LF"' },
  { name: 'TE on HTTP/1.0', bytes: msg(['POST / HTTP/1.0', HOST, `${TE}: chunked`], chunk(SB) + LAST) },
  { name: 'TE on HTTP/1.0 with CL', bytes: msg(['POST / HTTP/1.0', HOST, 'Content-Length: 4', `${TE}: chunked`], chunk(SB) + LAST) },

  // --- Content-Length oddities (HTTP Garden, llhttp) ---
  { name: 'CL: +5', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: +5'], 'hello') },
  { name: 'CL: -1', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: -1'], SB) },
  { name: 'CL: hex 0x5', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: 0x5'], 'hello') },
  { name: 'CL: 1e1 (exponent)', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: 1e1'], '0123456789') },
  { name: 'CL: "5, 5" list', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: 5, 5'], 'hello') },
  { name: 'CL: two equal headers', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: 5', 'Content-Length: 5'], 'hello') },
  { name: 'CL: two different headers', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: 0', `Content-Length: ${SB.length}`], SB) },
  { name: 'CL: leading zeros', bytes: msg(['PUT /url HTTP/1.1', HOST, 'Content-Length: 003'], 'abc'), note: 'llhttp "Content-Length with zeroes": valid digits' },
  { name: 'CL: overflow', bytes: msg(['PUT /url HTTP/1.1', HOST, 'Content-Length: 1000000000000000000000'], 'abc') },
  { name: 'CL: space before colon', bytes: msg(['PUT /url HTTP/1.1', HOST, 'Content-Length : 4'], 'abcd' + SB) },
  { name: 'CL: CR instead of dash', bytes: msg(['PUT /url HTTP/1.1', HOST, 'Content\rLength: 3'], 'abc') },
  { name: 'CL: body longer than declared (garbage after)', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: 5'], 'helloGARBAGE\r\n\r\n') },
  { name: 'CL: body shorter than declared', bytes: msg(['POST / HTTP/1.1', HOST, 'Content-Length: 50'], 'hello'), truncated: true },

  // --- chunked body oddities ---
  { name: 'chunk: size overflow fffffffffffffffff1', bytes: msg(['POST / HTTP/1.1', HOST, `${TE}: chunked`], 'fffffffffffffffff1\r\nabc\r\n0\r\n\r\n' + SB) },
  { name: 'chunk: size 0x5', bytes: msg(['POST / HTTP/1.1', HOST, `${TE}: chunked`], '0x5\r\nhello\r\n0\r\n\r\n') },
  { name: 'chunk: size +5', bytes: msg(['POST / HTTP/1.1', HOST, `${TE}: chunked`], '+5\r\nhello\r\n0\r\n\r\n') },
  { name: 'chunk: leading zeros + 000 last chunk', bytes: msg(['POST / HTTP/1.1', HOST, `${TE}: chunked`], '0005\r\nhello\r\n000\r\n\r\n'), note: 'llhttp "triple zero prefixed end chunk": valid' },
  { name: 'chunk: space after size', bytes: msg(['PUT /url HTTP/1.1', HOST, `${TE}: chunked`], 'a \r\n0123456789\r\n0\r\n\r\n') },
  { name: 'chunk: BWS before extension', bytes: msg(['PUT /url HTTP/1.1', HOST, `${TE}: chunked`], '5 ;a=b\r\nhello\r\n0\r\n\r\n') },
  { name: 'chunk: bare CR in extension', bytes: msg(['POST / HTTP/1.1', HOST, `${TE}: chunked`], '5;a\rb\r\nhello\r\n0\r\n\r\n') },
  { name: 'chunk: bare LF in extension', bytes: msg(['POST / HTTP/1.1', HOST, `${TE}: chunked`], `5;a\nb\r\nhello\r\n0\r\n\r\n`) },
  { name: 'chunk: unbalanced quote in extension', bytes: msg(['POST / HTTP/1.1', HOST, `${TE}: chunked`], '5;a="abc;b="def\r\nhello\r\n0\r\n\r\n') },
  { name: 'chunk: size line ends in bare LF', bytes: msg(['POST / HTTP/1.1', HOST, `${TE}: chunked`], '5\nhello\r\n0\r\n\r\n') },
  { name: 'chunk: size line ends in bare CR', bytes: msg(['GET / HTTP/1.1', HOST, `${TE}: chunked`], '5\r\r;ABCD\r\n34\r\nE\r\n0\r\n\r\n' + SB), note: 'llhttp "Chunk header not terminated by CRLF"' },
  { name: 'chunk: data not followed by CRLF', bytes: msg(['GET / HTTP/1.1', HOST, `${TE}: chunked`], '5\r\nABCDE0\r\n\r\n') },
  { name: 'chunk: request line as trailer', bytes: msg(['POST / HTTP/1.1', HOST, `${TE}: chunked`], '0\r\n' + SB) },
  { name: 'chunk: Content-Length trailer', bytes: msg(['POST / HTTP/1.1', HOST, `${TE}: chunked`], chunk('abc') + `0\r\nContent-Length: ${SECOND.length}\r\n\r\n` + SECOND), note: 'the trailer must not frame anything; the GET after is pipelined' },
  { name: 'chunk: missing last chunk', bytes: msg(['PUT /url HTTP/1.1', HOST, `${TE}: chunked`], '3\r\nfoo\r\n'), truncated: true },

  // --- request head oddities ---
  { name: 'head: LF-only line endings', bytes: `POST / HTTP/1.1\nHost: example.com\nContent-Length: ${SB.length}\n\n${SB}` },
  { name: 'head: LF-only with chunked (llhttp "Only LFs")', bytes: 'POST / HTTP/1.1\nHost: example.com\nTransfer-Encoding: chunked\n\n1\nA\n1;abc\nB\n0\n\n' },
  { name: 'head: missing CR between headers (CL)', bytes: 'GET / HTTP/1.1\r\nHost: localhost\r\nDummy: x\nContent-Length: 23\r\n\r\nGET / HTTP/1.1\r\nDummy: GET /admin HTTP/1.1\r\nHost: localhost\r\n\r\n', note: 'llhttp' },
  { name: 'head: bare CR as line separator', bytes: 'GET / HTTP/1.1\r\nHost: example.com\rContent-Length: 45\r\n\r\n' + SB },
  { name: 'head: bare CR in header value', bytes: msg(['GET / HTTP/1.1', HOST, 'X-Foo: a\rb']) },
  { name: 'head: dummy CR + smuggled request line', bytes: 'GET / HTTP/1.1\r\nHost: a\r\n\rZGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n', note: 'llhttp "Headers separated by dummy characters"' },
  { name: 'head: NUL in header value', bytes: msg(['GET / HTTP/1.1', HOST, 'X-Foo: a\x00b']) },
  { name: 'head: DEL in header value', bytes: msg(['GET / HTTP/1.1', HOST, 'X-Foo: a\x7fb']) },
  { name: 'head: obs-fold continuation line', bytes: msg(['GET / HTTP/1.1', HOST, 'X-Foo: a', ' b']) },
  { name: 'head: space-indented Content-Length after a header', bytes: msg(['POST /hello HTTP/1.1', HOST, 'Foo: bar', ' Content-Length: 45'], SB), note: 'llhttp "Spaces before headers"' },
  { name: 'head: space in header name', bytes: msg(['GET / HTTP/1.1', HOST, 'Foo Bar: x']) },
  { name: 'head: missing Host (HTTP/1.1)', bytes: msg(['GET / HTTP/1.1', 'X: y']) },
  { name: 'head: duplicate Host', bytes: msg(['GET / HTTP/1.1', 'Host: a.example', 'Host: b.example']) },
  { name: 'head: 100 CRLFs before the request line', bytes: CRLF.repeat(100) + msg(['GET / HTTP/1.1', HOST]) },
  { name: 'head: one CRLF before the request line', bytes: CRLF + msg(['GET / HTTP/1.1', HOST]) },
  { name: 'head: header section over 16 KiB', bytes: msg(['GET / HTTP/1.1', HOST, `X-Big: ${'a'.repeat(20_000)}`]) },

  // --- request line oddities ---
  { name: 'line: invalid method MKCOLA', bytes: msg(['MKCOLA / HTTP/1.1', HOST]) },
  { name: 'line: lower-case method', bytes: msg(['get / HTTP/1.1', HOST]) },
  { name: 'line: method with NUL', bytes: msg(['G\x00ET / HTTP/1.1', HOST]) },
  { name: 'line: space in target', bytes: msg(['GET /a b HTTP/1.1', HOST]) },
  { name: 'line: HTTP/2.0', bytes: msg(['GET / HTTP/2.0', HOST]) },
  { name: 'line: HTTP/0.9', bytes: 'GET /\r\n' + SB },
  { name: 'line: absolute-form', bytes: msg(['GET http://example.com/ HTTP/1.1', HOST]) },
  { name: 'line: CONNECT authority-form', bytes: msg(['CONNECT 127.0.0.1:22 HTTP/1.1', 'Host: 127.0.0.1:22']) },
  { name: 'line: OPTIONS *', bytes: msg(['OPTIONS * HTTP/1.1', HOST]) },
  { name: 'line: binary garbage', bytes: Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03, 0x0d, 0x0a, 0x0d, 0x0a]) },

  // --- connection management, pipelining, upgrade, expect ---
  { name: 'pipeline: POST(CL) smuggling a request inside its body', bytes: withBody(['POST / HTTP/1.1', HOST], SB), expectForwarded: 1, note: 'the body is data: exactly one request' },
  { name: 'pipeline: HTTP/1.0 then HTTP/1.1', bytes: msg(['PUT /url HTTP/1.0', 'Content-Length: 0']) + msg(['PUT /url HTTP/1.1', HOST]), note: 'HTTP/1.0 closes: at most one' },
  { name: 'pipeline: HTTP/1.0 keep-alive then HTTP/1.1', bytes: msg(['GET /1 HTTP/1.0', 'Connection: keep-alive']) + msg(['GET /2 HTTP/1.1', HOST]) },
  { name: 'pipeline: Connection: close then more', bytes: msg(['GET /1 HTTP/1.1', HOST, 'Connection: close']) + SMUGGLED },
  { name: 'pipeline: CRLF between requests', bytes: withBody(['POST / HTTP/1.1', HOST], 'q=42') + CRLF + msg(['GET /2 HTTP/1.1', HOST]), note: 'llhttp "CRLF between requests"' },
  { name: 'expect: 100-continue with body', bytes: msg(['POST / HTTP/1.1', HOST, 'Expect: 100-continue', 'Content-Length: 5'], 'hello') },
  { name: 'upgrade: websocket refused, body after', bytes: msg(['GET /ws HTTP/1.1', HOST, 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='], SB), note: 'backend answers 200, not 101: what follows is not a tunnel' },
  { name: 'upgrade: h2c with body', bytes: msg(['POST / HTTP/1.1', HOST, 'Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA', 'Content-Length: 4'], 'abcd' + SB) },
  { name: 'upgrade: Connection upgrade, CL body (llhttp)', bytes: msg(['PUT /url HTTP/1.1', HOST, 'Connection: upgrade', 'Content-Length: 4', 'Upgrade: ws'], 'abcdefgh') },

  // --- hop-by-hop: Connection naming framing and routing headers ---
  { name: 'hop: Connection: Content-Length', bytes: msg(['POST / HTTP/1.1', HOST, `Content-Length: ${SB.length}`, 'Connection: Content-Length'], SB), expectForwarded: 1, note: 'stripping CL leaves the body unframed upstream' },
  { name: 'hop: Connection: close, Content-Length', bytes: msg(['POST / HTTP/1.1', HOST, `Content-Length: ${SB.length}`, 'Connection: close, Content-Length'], SB), expectForwarded: 1 },
  { name: 'hop: Connection: keep-alive, content-length', bytes: msg(['POST / HTTP/1.1', HOST, `Content-Length: ${SB.length}`, 'Connection: keep-alive, content-length'], SB), expectForwarded: 1 },
  { name: 'hop: Connection: CONTENT-LENGTH on a GET', bytes: msg(['GET / HTTP/1.1', HOST, `Content-Length: ${SMUGGLED_SWALLOW.length}`, 'Connection: CONTENT-LENGTH'], SMUGGLED_SWALLOW), expectForwarded: 1 },
  { name: 'hop: second Connection header names Content-Length', bytes: msg(['POST / HTTP/1.1', HOST, `Content-Length: ${SB.length}`, 'Connection: keep-alive', 'Connection: content-length'], SB), expectForwarded: 1 },
  { name: 'hop: Connection: Transfer-Encoding (chunked)', bytes: msg(['POST / HTTP/1.1', HOST, `${TE}: chunked`, 'Connection: Transfer-Encoding'], chunk(SB) + LAST), expectForwarded: 1 },
  { name: 'hop: Connection: Transfer-Encoding, Content-Length (chunked)', bytes: msg(['POST / HTTP/1.1', HOST, `${TE}: chunked`, 'Connection: Transfer-Encoding, Content-Length'], chunk(SB) + LAST), expectForwarded: 1 },
  { name: 'hop: Connection: Host', bytes: msg(['GET / HTTP/1.1', HOST, 'Connection: Host']), expectForwarded: 1, note: 'Host must survive (HTTP/1.1 upstream requires it)' },
  { name: 'hop: Connection: Host, Content-Length', bytes: msg(['POST / HTTP/1.1', HOST, `Content-Length: ${SB.length}`, 'Connection: Host, Content-Length'], SB), expectForwarded: 1 },
  { name: 'hop: Connection: Content-Length on HTTP/1.0 keep-alive', bytes: msg(['POST / HTTP/1.0', HOST, `Content-Length: ${SB.length}`, 'Connection: keep-alive, Content-Length'], SB), expectForwarded: 1 },
  {
    name: 'hop: captured request (Connection: content-length, then a victim)',
    bytes: capturedRequest.attacker,
    followUp: capturedRequest.victim,
    expectForwarded: 2,
    note: 'the attacker body would swallow the next request on the pooled upstream connection',
  },
];

/**
 * Header names to send as `Connection: <name>`: common IANA-registered and de-facto request header
 * names, plus the framing and routing headers in mixed case.
 */
export const HEADER_NAMES: string[] = [
  'A-IM', 'Accept', 'Accept-Charset', 'Accept-Datetime', 'Accept-Encoding', 'Accept-Language', 'Accept-Patch',
  'Accept-Post', 'Accept-Ranges', 'Access-Control-Request-Headers', 'Access-Control-Request-Method', 'ALPN',
  'Alt-Used', 'Authorization', 'B3', 'Baggage', 'Cache-Control', 'CDN-Loop', 'Close', 'Connection',
  'Content-Digest', 'Content-Disposition', 'Content-Encoding', 'Content-Language', 'Content-Length',
  'Content-Location', 'Content-MD5', 'Content-Range', 'Content-Type', 'Cookie', 'Date', 'Device-Memory',
  'Digest', 'DNT', 'Downlink', 'DPR', 'Early-Data', 'ECT', 'Expect', 'Forwarded', 'From', 'Host',
  'HTTP2-Settings', 'If', 'If-Match', 'If-Modified-Since', 'If-None-Match', 'If-Range', 'If-Schedule-Tag-Match',
  'If-Unmodified-Since', 'Keep-Alive', 'Link', 'Max-Forwards', 'Origin', 'Pragma', 'Prefer', 'Priority',
  'Proxy-Authorization', 'Proxy-Connection', 'Purpose', 'Range', 'Referer', 'Repr-Digest', 'RTT', 'Save-Data',
  'Sec-CH-UA', 'Sec-CH-UA-Mobile', 'Sec-CH-UA-Platform', 'Sec-Fetch-Dest', 'Sec-Fetch-Mode', 'Sec-Fetch-Site',
  'Sec-Fetch-User', 'Sec-Purpose', 'Sec-WebSocket-Extensions', 'Sec-WebSocket-Key', 'Sec-WebSocket-Protocol',
  'Sec-WebSocket-Version', 'Service-Worker', 'Signature', 'Signature-Input', 'SLUG', 'TE', 'Timeout', 'Traceparent',
  'Tracestate', 'Trailer', 'Transfer-Encoding', 'True-Client-IP', 'Upgrade', 'Upgrade-Insecure-Requests',
  'User-Agent', 'Via', 'Viewport-Width', 'Want-Content-Digest', 'Want-Digest', 'Want-Repr-Digest', 'Warning',
  'Width', 'X-Amzn-Trace-Id', 'X-Api-Key', 'X-B3-SpanId', 'X-B3-TraceId', 'X-Correlation-ID', 'X-CSRF-Token',
  'X-Forwarded-For', 'X-Forwarded-Host', 'X-Forwarded-Port', 'X-Forwarded-Proto', 'X-HTTP-Method-Override',
  'X-Real-IP', 'X-Request-ID', 'X-Requested-With', 'X-Sidecarctl-Retry',
  // framing and routing headers, in mixed case
  'content-length', 'CONTENT-LENGTH', 'cOnTeNt-LeNgTh', 'Content-length',
  'transfer-encoding', 'TRANSFER-ENCODING', 'tRaNsFeR-eNcOdInG', 'Transfer-encoding',
  'host', 'HOST', 'hOsT',
];

// ---------------------------------------------------------------------------------------------
// Strict framing reader (what a strict origin server understands of a byte stream)
// ---------------------------------------------------------------------------------------------

export interface SeenRequest {
  method: string;
  target: string;
  version: string;
  headers: [string, string][];
  body: Buffer;
  framing: 'content-length' | 'chunked' | 'none';
}

export interface StreamParse {
  /** Complete requests, in order. */
  requests: SeenRequest[];
  /** clean: nothing left over; partial: a valid but incomplete request waits; error: garbage. */
  state: 'clean' | 'partial' | 'error';
  error?: string;
  /** The incomplete request (head parsed) when state is partial and its head is complete. */
  partial?: SeenRequest;
  /** Bytes not consumed by complete requests. */
  leftover: Buffer;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP\/1\.([01])$/;
const CHUNK_LINE = /^([0-9A-Fa-f]{1,12})(?:;[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:=(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[\t !#-[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"))?)*$/;
const MAX_HEAD = 64 * 1024;

class Bad extends Error {}

/** The value of a header (first), lower-cased name lookup. */
export function header(req: { headers: [string, string][] }, name: string): string | undefined {
  const lower = name.toLowerCase();
  return req.headers.find(([n]) => n.toLowerCase() === lower)?.[1];
}

function parseHead(head: string): Omit<SeenRequest, 'body'> & { contentLength: number } {
  const lines = head.split('\r\n');
  for (const l of lines) if (l.includes('\r') || l.includes('\n')) throw new Bad('bare CR or LF in head');
  const rl = REQUEST_LINE.exec(lines[0]!);
  if (!rl) throw new Bad(`invalid request line ${JSON.stringify(lines[0])}`);
  const headers: [string, string][] = [];
  let cl: string | null = null;
  let te: string | null = null;
  let hosts = 0;
  for (const line of lines.slice(1)) {
    if (line.startsWith(' ') || line.startsWith('\t')) throw new Bad('obs-fold');
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon);
    if (!TOKEN.test(name)) throw new Bad(`invalid header line ${JSON.stringify(line)}`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) throw new Bad(`control character in ${name}`);
    headers.push([name, value]);
    const lower = name.toLowerCase();
    if (lower === 'content-length') {
      if (cl !== null) throw new Bad('two Content-Length headers');
      cl = value;
    } else if (lower === 'transfer-encoding') {
      if (te !== null) throw new Bad('two Transfer-Encoding headers');
      te = value;
    } else if (lower === 'host') hosts++;
  }
  const version = `HTTP/1.${rl[3]}`;
  if (version === 'HTTP/1.1' && hosts !== 1) throw new Bad(hosts === 0 ? 'no Host header' : 'several Host headers');
  if (hosts > 1) throw new Bad('several Host headers');
  if (cl !== null && te !== null) throw new Bad('Content-Length with Transfer-Encoding');
  let contentLength = -1;
  let framing: SeenRequest['framing'] = 'none';
  if (cl !== null) {
    if (!/^[0-9]{1,15}$/.test(cl)) throw new Bad(`invalid Content-Length ${JSON.stringify(cl)}`);
    contentLength = Number(cl);
    framing = 'content-length';
  } else if (te !== null) {
    if (te.toLowerCase() !== 'chunked') throw new Bad(`unsupported Transfer-Encoding ${JSON.stringify(te)}`);
    if (version !== 'HTTP/1.1') throw new Bad('Transfer-Encoding on HTTP/1.0');
    framing = 'chunked';
  }
  return { method: rl[1]!, target: rl[2]!, version, headers, framing, contentLength };
}

/** Decodes a chunked body at buf[pos..]: the end position, or -1 (incomplete) with `out` filled so far. */
function readChunked(buf: Buffer, pos: number, out: Buffer[]): number {
  for (;;) {
    const lf = buf.indexOf(0x0a, pos);
    if (lf < 0) {
      const line = buf.toString('latin1', pos);
      if (line.length > 1024 || !/^[0-9A-Fa-f]*(;[^\r\n]*)?\r?$/.test(line)) throw new Bad('invalid chunk size line');
      return -1;
    }
    if (lf === pos || buf[lf - 1] !== 0x0d) throw new Bad('bare LF in chunk size line');
    const line = buf.toString('latin1', pos, lf - 1);
    const m = CHUNK_LINE.exec(line);
    if (!m) throw new Bad(`invalid chunk size line ${JSON.stringify(line)}`);
    const size = parseInt(m[1]!, 16);
    pos = lf + 1;
    if (size === 0) {
      // trailer section, up to an empty line
      for (;;) {
        const tl = buf.indexOf(0x0a, pos);
        if (tl < 0) return -1;
        if (tl === pos || buf[tl - 1] !== 0x0d) throw new Bad('bare LF in trailers');
        const t = buf.toString('latin1', pos, tl - 1);
        pos = tl + 1;
        if (t === '') return pos;
        const colon = t.indexOf(':');
        if (colon <= 0 || !TOKEN.test(t.slice(0, colon)) || /[\x00-\x08\x0a-\x1f\x7f]/.test(t.slice(colon + 1))) throw new Bad(`invalid trailer ${JSON.stringify(t)}`);
      }
    }
    const have = Math.min(size, buf.length - pos);
    out.push(buf.subarray(pos, pos + have));
    if (have < size) return -1;
    pos += size;
    if (buf.length - pos < 2) {
      if (buf.length > pos && buf[pos] !== 0x0d) throw new Bad('chunk data not followed by CRLF');
      return -1;
    }
    if (buf[pos] !== 0x0d || buf[pos + 1] !== 0x0a) throw new Bad('chunk data not followed by CRLF');
    pos += 2;
  }
}

/** Splits a byte stream into the requests a strict HTTP/1.1 server reads from it. */
export function parseRequestStream(buf: Buffer): StreamParse {
  const requests: SeenRequest[] = [];
  let pos = 0;
  const result = (state: StreamParse['state'], extra: Partial<StreamParse> = {}): StreamParse => ({ requests, state, leftover: buf.subarray(pos), ...extra });
  try {
    for (;;) {
      if (pos >= buf.length) return result('clean');
      const end = buf.indexOf('\r\n\r\n', pos, 'latin1');
      if (end < 0) {
        const text = buf.toString('latin1', pos);
        if (text.length > MAX_HEAD) throw new Bad('head too long');
        if (/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(text) || /(^|[^\r])\n/.test(text) || /\r[^\n]/.test(text)) throw new Bad('garbage in incomplete head');
        const firstEol = text.indexOf('\r\n');
        if (firstEol >= 0 && !REQUEST_LINE.test(text.slice(0, firstEol))) throw new Bad(`invalid request line ${JSON.stringify(text.slice(0, firstEol))}`);
        if (firstEol < 0 && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]*( [\x21-\x7e]*( [HTP/1.]*)?)?\r?$/.test(text)) throw new Bad('invalid partial request line');
        return result('partial');
      }
      const h = parseHead(buf.toString('latin1', pos, end));
      let p = end + 4;
      let body: Buffer;
      if (h.framing === 'content-length') {
        if (buf.length - p < h.contentLength) {
          return result('partial', { partial: { ...h, body: buf.subarray(p) } });
        }
        body = buf.subarray(p, p + h.contentLength);
        p += h.contentLength;
      } else if (h.framing === 'chunked') {
        const parts: Buffer[] = [];
        const e = readChunked(buf, p, parts);
        if (e < 0) return result('partial', { partial: { ...h, body: Buffer.concat(parts) } });
        body = Buffer.concat(parts);
        p = e;
      } else {
        body = Buffer.alloc(0);
      }
      const { contentLength: _cl, ...seen } = h;
      requests.push({ ...seen, body });
      pos = p;
    }
  } catch (err) {
    if (err instanceof Bad) return result('error', { error: err.message });
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Client side: the responses a front sent back
// ---------------------------------------------------------------------------------------------

export interface SeenResponse {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

/** Reads responses (framing by Content-Length, chunked, or until close); stops at the first thing it cannot read. */
export function parseResponseStream(buf: Buffer, closed: boolean): { responses: SeenResponse[]; garbage: boolean } {
  const responses: SeenResponse[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const end = buf.indexOf('\r\n\r\n', pos, 'latin1');
    if (end < 0) return { responses, garbage: true };
    const lines = buf.toString('latin1', pos, end).split('\r\n');
    const sl = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]!);
    if (!sl) return { responses, garbage: true };
    const status = Number(sl[1]);
    const headers: [string, string][] = lines.slice(1).map((l) => {
      const c = l.indexOf(':');
      return [l.slice(0, c), l.slice(c + 1).trim()];
    });
    let p = end + 4;
    const cl = header({ headers }, 'content-length');
    const te = header({ headers }, 'transfer-encoding');
    let body: Buffer = Buffer.alloc(0);
    if (status < 200 || status === 204 || status === 304) {
      // no body
    } else if (te?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      let e: number;
      try {
        e = readChunked(buf, p, parts);
      } catch {
        return { responses, garbage: true };
      }
      if (e < 0) return { responses, garbage: true };
      body = Buffer.concat(parts);
      p = e;
    } else if (cl !== undefined) {
      const n = Number(cl);
      if (buf.length - p < n) return { responses, garbage: true };
      body = buf.subarray(p, p + n);
      p += n;
    } else {
      if (!closed) return { responses, garbage: true };
      body = buf.subarray(p);
      p = buf.length;
    }
    responses.push({ status, headers, body });
    pos = p;
  }
  return { responses, garbage: false };
}

export interface Exchange {
  raw: Buffer;
  /** The front closed the connection (as opposed to the client giving up). */
  closed: boolean;
  responses: SeenResponse[];
  /** Status codes, or [] for none. */
  statuses: number[];
  /** Bytes that did not read as a response. */
  garbage: boolean;
}

export interface SendOptions {
  /** Stop once this long passed without any byte after the last one received. */
  idleMs?: number;
  /** Stop if nothing at all arrived for this long. */
  firstByteMs?: number;
  /** Stop early once this many final (non-1xx) responses were read. */
  responses?: number;
  maxMs?: number;
}

/** Sends `bytes` on a fresh connection and reads until the front closes, goes quiet, or `responses` final responses arrived. */
export function sendRaw(port: number, bytes: Buffer | string, opts: SendOptions = {}): Promise<Exchange> {
  const { idleMs = 300, firstByteMs = 700, responses: want, maxMs = 5000 } = opts;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    let idle: NodeJS.Timeout | null = null;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(hard);
      if (idle) clearTimeout(idle);
      socket.destroy();
      const raw = Buffer.concat(chunks);
      const { responses, garbage } = parseResponseStream(raw, closed);
      resolve({ raw, closed, responses, statuses: responses.map((r) => r.status), garbage });
    };
    const hard = setTimeout(() => finish(false), maxMs);
    const arm = (ms: number) => {
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => finish(false), ms);
    };
    arm(firstByteMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (want !== undefined) {
        const { responses } = parseResponseStream(Buffer.concat(chunks), false);
        if (responses.filter((r) => r.status >= 200).length >= want) return finish(false);
      }
      arm(idleMs);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  });
}

// ---------------------------------------------------------------------------------------------
// Recording backend
// ---------------------------------------------------------------------------------------------

export interface BackendConnection {
  bytes(): Buffer;
  /** Requests answered so far. */
  answered: number;
  /** The backend gave up on the connection (garbage). */
  rejected: boolean;
  socket: net.Socket;
}

export interface RecordingBackend {
  port: number;
  connections: BackendConnection[];
  /** Closes every connection and forgets them (between cases on a shared front). */
  reset(): void;
  close(): Promise<void>;
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
const OK_HEAD = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n';

/**
 * A raw TCP origin on 127.0.0.1 that records every byte per connection and answers each request
 * its strict reader completes with a fixed 200 (`ok`); on garbage it closes the connection.
 */
export async function startRecordingBackend(): Promise<RecordingBackend> {
  let connections: BackendConnection[] = [];
  const server = net.createServer((socket) => {
    const chunks: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const conn: BackendConnection = { bytes: () => Buffer.concat(chunks), answered: 0, rejected: false, socket };
    connections.push(conn);
    socket.on('error', () => {});
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (conn.rejected) return;
      buf = Buffer.concat([buf, c]);
      const parsed = parseRequestStream(buf);
      for (let i = conn.answered; i < parsed.requests.length; i++) {
        const req = parsed.requests[i]!;
        socket.write(req.method === 'HEAD' ? OK_HEAD : OK);
        if (/(^|,)\s*close\s*(,|$)/i.test(header(req, 'connection') ?? '')) {
          // answer no more on this connection (whatever follows still shows in backendView)
          conn.answered = parsed.requests.length;
          conn.rejected = true;
          socket.end();
          return;
        }
      }
      conn.answered = parsed.requests.length;
      if (parsed.state === 'error') {
        conn.rejected = true;
        socket.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return connections;
    },
    reset() {
      for (const c of connections) c.socket.destroy();
      connections = [];
    },
    close: () =>
      new Promise<void>((r) => {
        for (const c of connections) c.socket.destroy();
        server.close(() => r());
      }),
  } as RecordingBackend;
}

// ---------------------------------------------------------------------------------------------
// The verdict
// ---------------------------------------------------------------------------------------------

export interface BackendView {
  requests: SeenRequest[];
  /** Incomplete requests left on connections (head parsed, body short), with their head. */
  partials: SeenRequest[];
  /** Incomplete bytes without a complete head. */
  partialHeads: number;
  /** Why a connection's bytes did not read as requests. */
  errors: string[];
}

export function backendView(backend: RecordingBackend): BackendView {
  const view: BackendView = { requests: [], partials: [], partialHeads: 0, errors: [] };
  for (const c of backend.connections) {
    const p = parseRequestStream(c.bytes());
    view.requests.push(...p.requests);
    if (p.state === 'error') view.errors.push(p.error ?? 'unreadable');
    if (p.state === 'partial') {
      if (p.partial) view.partials.push(p.partial);
      else view.partialHeads++;
    }
  }
  return view;
}

export interface Verdict {
  ok: boolean;
  reasons: string[];
  /** Final responses per exchange. */
  answered: string;
  backend: string;
}

/** Describes a front's answers: `200,400` or `closed` / `timeout`. */
export function describeAnswers(exchanges: Exchange[]): string {
  return exchanges
    .map((e) => {
      const s = e.statuses.filter((x) => x >= 200);
      if (s.length) return s.join(',') + (e.garbage ? '+unparseable' : '');
      if (e.raw.length) return 'unparseable answer';
      return e.closed ? 'closed' : 'no answer';
    })
    .join(' / ');
}

/**
 * The differential judgement: the backend saw exactly the requests the front answered 2xx for,
 * each strictly framed, nothing unreadable, and no incomplete request unless the client itself
 * stopped in the middle of one.
 */
export function judge(c: SmugglingCase, exchanges: Exchange[], view: BackendView): Verdict {
  const reasons: string[] = [];
  const ok2xx = exchanges.reduce((n, e) => n + e.statuses.filter((s) => s >= 200 && s < 300).length, 0);
  if (view.errors.length) reasons.push(`backend could not read what it got: ${view.errors.join('; ')}`);
  const incomplete = view.partials.length + view.partialHeads;
  if (incomplete > (c.truncated ? 1 : 0)) {
    reasons.push(`backend is left waiting on ${incomplete} incomplete request(s)${view.partials.length ? ` (${view.partials.map((p) => `${p.method} ${p.target}`).join(', ')})` : ''}`);
  }
  if (view.requests.length !== ok2xx) {
    reasons.push(`backend saw ${view.requests.length} request(s) (${view.requests.map((r) => `${r.method} ${r.target}`).join(', ')}), client got ${ok2xx} 2xx`);
  }
  // Only ever inside a body (the captured-request case): never a request of its own.
  for (const r of [...view.requests, ...view.partials]) if (r.target === '/capture') reasons.push(`backend saw ${r.method} ${r.target} as a request`);
  if (c.expectForwarded !== undefined && ok2xx !== c.expectForwarded) reasons.push(`well-formed case: expected ${c.expectForwarded} forwarded, client got ${ok2xx} 2xx`);
  const partialNote = incomplete ? ` +${incomplete} incomplete` : '';
  return {
    ok: reasons.length === 0,
    reasons,
    answered: describeAnswers(exchanges),
    backend: `${view.requests.length}${partialNote}${view.errors.length ? ' +garbage' : ''}`,
  };
}

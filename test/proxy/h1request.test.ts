import { describe, expect, it } from 'vitest';
import { ChunkedDecoder, ChunkedError } from '../../src/proxy/h1common.js';
import { parseRequestHead, RequestError, type HeadResult } from '../../src/proxy/h1request.js';

const LIMITS = { maxHeaderBytes: 1024, maxHeaders: 10 };

function head(text: string, limits = LIMITS): HeadResult | null {
  return parseRequestHead(Buffer.from(text, 'latin1'), 0, limits);
}

/** The status the parser refuses `text` with, or 'accepted' / 'incomplete'. */
function verdict(text: string, limits = LIMITS): number | 'accepted' | 'incomplete' {
  try {
    return head(text, limits) === null ? 'incomplete' : 'accepted';
  } catch (err) {
    if (err instanceof RequestError) return err.status;
    throw err;
  }
}

/** Decodes a chunked body fed `step` bytes at a time; returns the body or the error message. */
function dechunk(input: string, step = input.length): { body: string; done: boolean; rest: string } {
  let body = '';
  const decoder = new ChunkedDecoder((c) => (body += c.toString('latin1')));
  let buf = Buffer.alloc(0);
  const bytes = Buffer.from(input, 'latin1');
  for (let i = 0; i < bytes.length && !decoder.done; i += step) {
    buf = Buffer.concat([buf, bytes.subarray(i, i + step)]);
    let pos = 0;
    for (;;) {
      const next = decoder.step(buf, pos);
      if (decoder.done || next === pos) {
        pos = next;
        break;
      }
      pos = next;
    }
    buf = buf.subarray(pos);
    if (decoder.done) return { body, done: true, rest: Buffer.concat([buf, bytes.subarray(i + step)]).toString('latin1') };
  }
  return { body, done: decoder.done, rest: buf.toString('latin1') };
}

describe('request head parser', () => {
  it('reads the request line, headers in order, and where the body starts', () => {
    const text = 'POST /a?b=c HTTP/1.1\r\nHost: x\r\nContent-Length:  5 \r\nX-Empty:\r\n\r\n';
    const r = head(`${text}hello`)!;
    expect(r.request).toMatchObject({ method: 'POST', url: '/a?b=c', minor: 1, contentLength: 5, chunked: false, keepAlive: true, upgrade: false, expect: null });
    expect(r.request.rawHeaders).toEqual(['Host', 'x', 'Content-Length', '5', 'X-Empty', '']);
    expect(r.end).toBe(text.length);
  });

  it('waits for the end of the head, and skips empty lines before the request line', () => {
    expect(verdict('GET / HTTP/1.1\r\nHost: x\r\n')).toBe('incomplete');
    expect(head('\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n')!.request.url).toBe('/');
  });

  it('knows keep-alive defaults, Connection tokens, upgrades and Expect', () => {
    expect(head('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')!.request.keepAlive).toBe(false);
    expect(head('GET / HTTP/1.0\r\n\r\n')!.request.keepAlive).toBe(false);
    expect(head('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n')!.request.keepAlive).toBe(true);
    const up = head('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n')!.request;
    expect(up.upgrade).toBe(true);
    expect(head('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n')!.request.upgrade).toBe(false);
    expect(head('PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n')!.request.expect).toBe('100-continue');
    expect(head('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n')!.request.chunked).toBe(true);
  });

  it('reads Connection tokens and upgrades as llhttp does', () => {
    const req = (headers: string, version = '1.1') => head(`GET / HTTP/${version}\r\nHost: x\r\n${headers}\r\n`)!.request;
    // An upgrade needs a non-empty Upgrade and a token exactly `upgrade`.
    expect(req('Upgrade:\r\nConnection: upgrade\r\n').upgrade).toBe(false);
    expect(req('Upgrade: \t\r\nConnection: upgrade\r\n').upgrade).toBe(false);
    expect(req('Upgrade: websocket\r\nConnection: upgraded\r\n').upgrade).toBe(false);
    expect(req('Upgrade: websocket\r\nConnection: x-upgrade\r\n').upgrade).toBe(false);
    expect(req('Upgrade: websocket\r\nConnection: \tkeep-alive,upgrade  \r\n').upgrade).toBe(true);
    expect(req('Upgrade: websocket\r\nConnection: upgrade\t, upgrade\r\n').upgrade).toBe(true);
    // close<HTAB> closes (as later llhttp versions read it), keep-alive<HTAB> does not keep.
    expect(req('Connection: close\t\r\n').keepAlive).toBe(false);
    expect(req('Connection: closed\r\n').keepAlive).toBe(true);
    expect(req('Proxy-Connection: close\r\n').keepAlive).toBe(false);
    expect(req('Connection: x-keep-alive\r\n', '1.0').keepAlive).toBe(false);
    expect(req('Connection: keep-alive\t\r\n', '1.0').keepAlive).toBe(false);
    expect(req('Proxy-Connection: keep-alive\r\n', '1.0').keepAlive).toBe(true);
  });

  it('accepts SP, not HTAB, after Content-Length and chunked', () => {
    expect(head('POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\t5  \r\n\r\n')!.request.contentLength).toBe(5);
    expect(head('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\tchunked  \r\n\r\n')!.request.chunked).toBe(true);
  });

  it.each([
    ['no method', ' / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['an unknown method', 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a lower-case method', 'get / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['two spaces', 'GET  / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a tab as separator', 'GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a space in the target', 'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a control character in the target', 'GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['non-ASCII in the target', 'GET /\xe9 HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a relative target', 'GET a/b HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: x\r\n\r\n'],
    ['HTTP/1.2', 'GET / HTTP/1.2\r\nHost: x\r\n\r\n'],
    ['a lower-case version', 'GET / http/1.1\r\nHost: x\r\n\r\n'],
    ['no version (HTTP/0.9)', 'GET /\r\nHost: x\r\n\r\n'],
    ['trailing space after the version', 'GET / HTTP/1.1 \r\nHost: x\r\n\r\n'],
    ['no Host on HTTP/1.1', 'GET / HTTP/1.1\r\nX: y\r\n\r\n'],
    ['a space in a header name', 'GET / HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n'],
    ['a space before the colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n'],
    ['an empty header name', 'GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n'],
    ['a header line without colon', 'GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n'],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n'],
    ['obs-fold with a tab', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n\tfolded\r\n\r\n'],
    ['a bare LF inside a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\nInjected: b\r\n\r\n'],
    ['a bare CR inside a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\rInjected: b\r\n\r\n'],
    ['a NUL in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n'],
    ['DEL in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\x7fb\r\n\r\n'],
    ['Content-Length and Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['Transfer-Encoding and Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n'],
    ['duplicate equal Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n'],
    ['mismatched Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n'],
    ['a Content-Length list', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\n'],
    ['a signed Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\n'],
    ['a hex Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x3\r\n\r\n'],
    ['an empty Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n'],
    ['a huge Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n'],
    ['a non-chunked final coding', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n'],
    ['an identity coding', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n'],
    ['chunked twice', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n'],
    ['two Transfer-Encoding headers', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['a mangled chunked', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n'],
    ['Transfer-Encoding on HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['HTAB after a Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\t\r\n\r\n'],
    ['HTAB after chunked', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked \t\r\n\r\n'],
    ['a scheme with other than letters', 'GET a+b://x HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a scheme without //', 'GET http:x HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a quote in an absolute-form authority', 'GET http://a"b/ HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['two @ in an absolute-form authority', 'GET http://a@b@c/ HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a quote in a CONNECT authority', 'CONNECT a"b:443 HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['Connection: upgrade followed by HTAB (llhttp versions differ)', 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\t\r\n\r\n'],
  ])('refuses %s with 400', (_what, text) => {
    expect(verdict(text)).toBe(400);
  });

  it('resumes the search where an incomplete head left off (fed byte by byte)', () => {
    const feed = (text: string) => {
      const bytes = Buffer.from(text, 'latin1');
      let scanned = 0;
      for (let n = 1; n <= bytes.length; n++) {
        const r = parseRequestHead(bytes.subarray(0, n), 0, LIMITS, scanned);
        if (r !== null) return r;
        scanned = n;
      }
      return null;
    };
    const r = feed('\r\nGET /bytes HTTP/1.1\r\nHost: x\r\nX: y\r\n\r\nbody')!;
    expect(r.request).toMatchObject({ url: '/bytes', rawHeaders: ['Host', 'x', 'X', 'y'] });
    expect(r.end).toBe('\r\nGET /bytes HTTP/1.1\r\nHost: x\r\nX: y\r\n\r\n'.length);
    expect(() => feed('GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n')).toThrow(RequestError);
  });

  it('refuses a bare LF line ending at once, without waiting for the rest', () => {
    expect(verdict('GET / HTTP/1.1\nHost: x\n')).toBe(400);
    expect(verdict('GET / HTTP/1.1\r\nHost: x\n\r\n\r\n')).toBe(400);
    expect(verdict('GET / HTTP/1.1\nHost: x\n\n')).toBe(400);
  });

  it('answers 431 beyond maxHeaderBytes (complete or not) and beyond maxHeaders', () => {
    expect(verdict(`GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(1100)}\r\n\r\n`)).toBe(431);
    expect(verdict(`GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(1100)}`)).toBe(431);
    const headers = (n: number) => Array.from({ length: n }, (_, i) => `X-${i}: v\r\n`).join('');
    expect(verdict(`GET / HTTP/1.1\r\nHost: x\r\n${headers(9)}\r\n`)).toBe('accepted');
    expect(verdict(`GET / HTTP/1.1\r\nHost: x\r\n${headers(10)}\r\n`)).toBe(431);
  });

  it('accepts asterisk-form, absolute-form and CONNECT authority-form (refused later, with their own answers)', () => {
    expect(head('OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n')!.request.url).toBe('*');
    expect(head('GET http://evil.example/ HTTP/1.1\r\nHost: x\r\n\r\n')!.request.url).toBe('http://evil.example/');
    expect(head('CONNECT evil.example:443 HTTP/1.1\r\nHost: x\r\n\r\n')!.request.method).toBe('CONNECT');
    for (const url of ['https://u:p@[::1]:8443/a?b', 'HTTP://h?q', 'http://', 'http:///x']) expect(head(`GET ${url} HTTP/1.1\r\nHost: x\r\n\r\n`)!.request.url).toBe(url);
  });

  it('accepts obs-text in values and HTAB around them', () => {
    const r = head('GET / HTTP/1.1\r\nHost: x\r\nX:\t caf\xe9 \t\r\n\r\n')!.request;
    expect(r.rawHeaders[3]).toBe('caf\xe9');
  });
});

describe('chunked body decoder (strict)', () => {
  const body = '5\r\nhello\r\n6;name=val;q="a \\"b\\""\r\n world\r\n0\r\nX-Trailer: t\r\n\r\nNEXT';
  it.each([1, 2, 3, 7, 1000])('decodes sizes, extensions and trailers, and stops at the end (fed %i bytes at a time)', (step) => {
    const r = dechunk(body, step);
    expect(r).toMatchObject({ body: 'hello world', done: true });
    expect(r.rest).toBe('NEXT');
  });

  it.each([
    ['a non-hex size', 'zz\r\n'],
    ['an empty size', '\r\nab\r\n'],
    ['a negative size', '-1\r\n'],
    ['a 0x prefix', '0x5\r\nhello\r\n0\r\n\r\n'],
    ['a size too large', 'fffffffffffff\r\n'],
    ['whitespace after the size', '5 \r\nhello\r\n0\r\n\r\n'],
    ['whitespace before an extension', '5 ;a=b\r\nhello\r\n0\r\n\r\n'],
    ['an extension without a name', '5;=b\r\nhello\r\n0\r\n\r\n'],
    ['an unterminated quoted extension', '5;a="b\r\nhello\r\n0\r\n\r\n'],
    ['a control character in an extension', '5;a=\x01\r\nhello\r\n0\r\n\r\n'],
    ['a bare LF after the size', '5\nhello\r\n0\r\n\r\n'],
    ['a bare CR in the size line', '5\rX\r\nhello\r\n0\r\n\r\n'],
    ['chunk data longer than its size', '2\r\nokXX0\r\n\r\n'],
    ['a bare LF after the data', '2\r\nok\n0\r\n\r\n'],
    ['a bad trailer line', '0\r\nBad Trailer: x\r\n\r\n'],
    ['a Content-Length trailer', '0\r\ncontent-length: 5\r\n\r\n'],
    ['a Transfer-Encoding trailer', '0\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['a Host trailer', '0\r\nHost: y\r\n\r\n'],
    ['a Connection trailer', '0\r\nConnection: close\r\n\r\n'],
    ['a Proxy-Connection trailer', '0\r\nProxy-Connection: close\r\n\r\n'],
    ['an empty extension', '0;\r\n\r\n'],
    ['an extension with an empty value', '5;a=\r\nhello\r\n0\r\n\r\n'],
    ['13 digits of size', '0000000000005\r\nhello\r\n0\r\n\r\n'],
    ['a bare LF ending the trailers', '0\r\nX: y\r\n\n'],
  ])('refuses %s', (_what, input) => {
    for (const step of [1, 1000]) expect(() => dechunk(input, step)).toThrow(ChunkedError);
  });

  it('refuses an overlong chunk-size line before it ends', () => {
    expect(() => dechunk(`5;${'a'.repeat(2000)}`)).toThrow(/too long/);
    expect(() => dechunk(`${'0'.repeat(2000)}5\r\nhello\r\n`)).toThrow(ChunkedError);
  });
});

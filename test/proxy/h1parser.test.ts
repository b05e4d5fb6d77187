import { describe, expect, it } from 'vitest';
import { ParseError, ResponseParser } from '../../src/proxy/h1parser.js';

interface Parsed {
  status: number;
  headers: string[];
  keepAlive: boolean;
  body: string;
  complete: boolean;
  heads: number;
}

/** Feeds `input` in pieces of `step` bytes (every split point matters for a streaming parser). */
function parse(input: string, opts: { method?: string; step?: number; close?: boolean } = {}): Parsed {
  const out: Parsed = { status: 0, headers: [], keepAlive: false, body: '', complete: false, heads: 0 };
  const parser = new ResponseParser(8192, {
    onHead: (status, headers, keepAlive) => {
      out.heads++;
      Object.assign(out, { status, headers, keepAlive });
    },
    onBody: (chunk) => (out.body += chunk.toString('latin1')),
    onComplete: () => (out.complete = true),
  });
  parser.start(opts.method ?? 'GET');
  const bytes = Buffer.from(input, 'latin1');
  const step = opts.step ?? bytes.length;
  for (let i = 0; i < bytes.length; i += step) parser.execute(bytes.subarray(i, i + step));
  if (opts.close) parser.finish();
  return out;
}

const steps = [1, 2, 3, 7, 1000];

describe('upstream response parser', () => {
  it.each(steps)('reads Content-Length bodies (fed %i bytes at a time)', (step) => {
    const r = parse('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello', { step });
    expect(r).toMatchObject({ status: 200, body: 'hello', complete: true, keepAlive: true });
    expect(r.headers).toEqual(['Content-Length', '5', 'X-A', 'b']);
  });

  it.each(steps)('decodes chunked bodies with extensions and trailers (fed %i bytes at a time)', (step) => {
    const r = parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n', { step });
    expect(r).toMatchObject({ body: 'hello world', complete: true, keepAlive: true });
  });

  it('skips 1xx responses, and knows HEAD, 204 and 304 have no body', () => {
    expect(parse('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')).toMatchObject({ status: 200, body: 'ok', heads: 1 });
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n', { method: 'HEAD' })).toMatchObject({ body: '', complete: true, keepAlive: true });
    expect(parse('HTTP/1.1 204 No Content\r\n\r\n')).toMatchObject({ complete: true });
    expect(parse('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n')).toMatchObject({ complete: true });
  });

  it('reads until close when there is no framing, and then does not reuse the connection', () => {
    const r = parse('HTTP/1.1 200 OK\r\n\r\nstreamed until close', { step: 4, close: true });
    expect(r).toMatchObject({ body: 'streamed until close', complete: true, keepAlive: false });
    const te = parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw', { close: true });
    expect(te).toMatchObject({ body: 'raw', keepAlive: false });
  });

  it('honours Connection: close and HTTP/1.0 defaults', () => {
    expect(parse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').keepAlive).toBe(false);
    expect(parse('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').keepAlive).toBe(false);
    expect(parse('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n').keepAlive).toBe(true);
  });

  it('reads Transfer-Encoding as llhttp does: the last non-empty header, chunked as its final coding', () => {
    const chunked = (te: string) => parse(`HTTP/1.1 200 OK\r\n${te}\r\n\r\n2\r\nok\r\n0\r\n\r\n`, { close: true });
    expect(chunked('Transfer-Encoding: gzip, chunked')).toMatchObject({ body: 'ok', complete: true, keepAlive: true });
    expect(chunked('Transfer-Encoding: CHUNKED  ')).toMatchObject({ body: 'ok', keepAlive: true });
    expect(chunked('Transfer-Encoding: chunked\r\nTransfer-Encoding: ')).toMatchObject({ body: 'ok', keepAlive: true });
    // Not chunked, so the body runs until the connection closes.
    for (const te of ['Transfer-Encoding: chunked\t', 'Transfer-Encoding: chunked\xa0', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip', 'Transfer-Encoding: gzip chunked']) {
      expect(chunked(te)).toMatchObject({ body: '2\r\nok\r\n0\r\n\r\n', complete: true, keepAlive: false });
    }
  });

  it('reads Connection tokens exactly (and Proxy-Connection like Connection)', () => {
    const keepAlive = (head: string) => parse(`${head}\r\nContent-Length: 0\r\n\r\n`).keepAlive;
    expect(keepAlive('HTTP/1.1 200 OK\r\nConnection: closed')).toBe(true);
    expect(keepAlive('HTTP/1.1 200 OK\r\nConnection: x, Close')).toBe(false);
    expect(keepAlive('HTTP/1.1 200 OK\r\nConnection: close\t')).toBe(false);
    expect(keepAlive('HTTP/1.1 200 OK\r\nProxy-Connection: close')).toBe(false);
    expect(keepAlive('HTTP/1.0 200 OK\r\nConnection: x-keep-alive')).toBe(false);
    expect(keepAlive('HTTP/1.0 200 OK\r\nConnection: keep-alive\t')).toBe(false);
  });

  it.each([
    ['a bad status line', 'HTTP/2 200 OK\r\n\r\n'],
    ['a status that is not 3 digits', 'HTTP/1.1 20 OK\r\n\r\n'],
    ['a header without colon', 'HTTP/1.1 200 OK\r\nNoColon\r\n\r\n'],
    ['a space before the colon', 'HTTP/1.1 200 OK\r\nX-A : b\r\n\r\n'],
    ['obsolete line folding', 'HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\n\r\n'],
    ['a bare LF in a value', 'HTTP/1.1 200 OK\r\nX-A: b\nX-Injected: c\r\n\r\n'],
    ['a non-numeric Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n'],
    ['conflicting Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'],
    ['equal Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok'],
    ['Content-Length with Transfer-Encoding', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'],
    ['Transfer-Encoding with Content-Length', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\nok'],
    ['HTAB after a Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 2\t\r\n\r\nok'],
    ['a bare LF ending the status line', 'HTTP/1.1 200 OK\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['a bare CR ending the status line', 'HTTP/1.1 200 OK\r\r\n'],
    ['a bare CR in a head that has not ended', 'HTTP/1.1 200 OK\r\r'],
    ['a bare CR in the reason', 'HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n'],
    ['a bare LF ending a header line', 'HTTP/1.1 200 OK\r\nContent-Length: 2\n\r\n\r\nok'],
    ['a bare CR ending a header line', 'HTTP/1.1 200 OK\r\nX: v\r\r\nContent-Length: 2\r\n\r\nok'],
    ['VT around a value', 'HTTP/1.1 200 OK\r\nContent-Length:\x0b2\r\n\r\nok'],
    ['whitespace after a chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 \r\nok\r\n0\r\n\r\n'],
    ['whitespace in a chunk extension', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2; a=b\r\nok\r\n0\r\n\r\n'],
    ['an empty chunk extension', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0;\r\n\r\n'],
    ['a bad trailer line', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n'],
    ['a folded trailer', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n b\r\n\r\n'],
    ['a Content-Length trailer', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n'],
    ['a Connection trailer', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nConnection: close\r\n\r\n'],
    ['an HTTP/1.0 interim response (it closes the connection)', 'HTTP/1.0 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'],
    ['an interim response with Connection: close', 'HTTP/1.1 103 Early Hints\r\nConnection: close\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    ['chunk data without CRLF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX0\r\n\r\n'],
    ['bytes after the response (splitting attempt)', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil'],
    ['bytes after a bodiless response', 'HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n\r\n'],
    ['a 101 on a pooled connection', 'HTTP/1.1 101 Switching Protocols\r\n\r\n'],
  ])('rejects %s', (_name, input) => {
    for (const step of [1, input.length]) expect(() => parse(input, { step })).toThrow(ParseError);
  });

  it('limits header size', () => {
    const big = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`;
    expect(() => parse(big)).toThrow(/too large/);
    expect(() => parse(big, { step: 100 })).toThrow(/too large/);
  });

  it('reports a body cut short by the connection closing as incomplete', () => {
    const out = { complete: false };
    const parser = new ResponseParser(8192, { onHead: () => {}, onBody: () => {}, onComplete: () => (out.complete = true) });
    parser.start('GET');
    parser.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    expect(parser.finish()).toBe(false);
    expect(out.complete).toBe(false);
  });
});

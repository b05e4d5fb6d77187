/**
 * The listener's own HTTP/1.1 server (h1server.ts + h1request.ts) against malformed input and
 * request smuggling attempts, through a real listener and a real backend: every refused request
 * gets its status and a closed connection, and nothing smuggled ever reaches the backend.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { baseConfig, request, sleep, startBackend, startProxy, waitFor, type Backend, type TestProxy } from './helpers/harness.js';

let backend: Backend;
let proxy: TestProxy;

afterEach(async () => {
  await proxy?.close();
  await backend?.close();
});

interface Exchange {
  raw: string;
  /** The proxy closed the connection (rather than the client timing out). */
  closed: boolean;
}

/** Writes `data` (in pieces, with pauses, when given an array) and reads until the proxy closes. */
function exchange(port: number, data: string | string[], timeoutMs = 2000): Promise<Exchange> {
  return new Promise((resolvePromise) => {
    const socket = net.connect(port, '127.0.0.1');
    let raw = '';
    let settled = false;
    const done = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolvePromise({ raw, closed });
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('data', (c) => (raw += c.toString('latin1')));
    socket.on('close', () => done(true));
    socket.on('error', () => done(true));
    void (async () => {
      for (const piece of Array.isArray(data) ? data : [data]) {
        if (socket.destroyed) return;
        socket.write(Buffer.from(piece, 'latin1'));
        if (Array.isArray(data)) await sleep(30);
      }
    })();
  });
}

const statuses = (raw: string) => [...raw.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);

async function setup(limits?: { maxHeaderBytes?: number; maxHeaders?: number }): Promise<number> {
  backend = await startBackend((req, res, body) => res.end(`${req.method} ${req.url} ${body}`));
  proxy = await startProxy({ ...baseConfig(backend.port), ...(limits ? { limits } : {}) });
  return proxy.port('inbound');
}

describe('inbound parser: malformed requests', () => {
  const H = 'Host: x\r\n';
  it.each([
    ['an unknown method', `FOO / HTTP/1.1\r\n${H}\r\n`],
    ['a target with a space', `GET /a b HTTP/1.1\r\n${H}\r\n`],
    ['a target with a control character', `GET /a\x7f HTTP/1.1\r\n${H}\r\n`],
    ['an unsupported version', `GET / HTTP/1.2\r\n${H}\r\n`],
    ['HTTP/0.9', 'GET /\r\n\r\n'],
    ['obs-fold', `GET / HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n`],
    ['bare LF line endings', 'GET / HTTP/1.1\nHost: x\n\n'],
    ['a bare CR', `GET / HTTP/1.1\r\n${H}X: a\rb\r\n\r\n`],
    ['a NUL in a value', `GET / HTTP/1.1\r\n${H}X: a\x00b\r\n\r\n`],
    ['a space before the colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n'],
    ['a header name with "@"', `GET / HTTP/1.1\r\n${H}X@Y: v\r\n\r\n`],
    ['duplicate Content-Length (equal)', `POST / HTTP/1.1\r\n${H}Content-Length: 2\r\nContent-Length: 2\r\n\r\nok`],
    ['mismatched Content-Length', `POST / HTTP/1.1\r\n${H}Content-Length: 2\r\nContent-Length: 3\r\n\r\nok`],
    ['a Content-Length list', `POST / HTTP/1.1\r\n${H}Content-Length: 2,2\r\n\r\nok`],
    ['a negative Content-Length', `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`],
    ['a non-chunked final Transfer-Encoding', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n2\r\nok\r\n0\r\n\r\n`],
    ['gzip before chunked', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`],
    ['Transfer-Encoding on HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['a bad chunk size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n`],
    ['whitespace after a chunk size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2 \r\nok\r\n0\r\n\r\n`],
    ['a bad chunk extension', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2;a b\r\nok\r\n0\r\n\r\n`],
    ['a bare LF after a chunk size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2\nok\r\n0\r\n\r\n`],
    ['chunk data overrunning its size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2\r\nokay\r\n0\r\n\r\n`],
    ['an overlong chunk-size line', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2;${'e'.repeat(3000)}`],
    ['HTAB after a Content-Length', `POST / HTTP/1.1\r\n${H}Content-Length: 2\t\r\n\r\nok`],
    ['HTAB after chunked', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\t\r\n\r\n2\r\nok\r\n0\r\n\r\n`],
    ['a Content-Length trailer', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nContent-Length: 5\r\n\r\n`],
    ['a Host trailer', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nHost: y\r\n\r\n`],
    ['a scheme that is not letters only', `GET a+b://x/ HTTP/1.1\r\n${H}\r\n`],
    ['an upgrade token followed by HTAB', `GET / HTTP/1.1\r\n${H}Upgrade: websocket\r\nConnection: upgrade\t\r\n\r\n`],
    ['an unknown Expect', `GET / HTTP/1.1\r\n${H}Expect: 200-ok\r\n\r\n`],
  ])('%s: refused, connection closed, nothing complete reaches the upstream', async (what, data) => {
    const port = await setup();
    const { raw, closed } = await exchange(port, data);
    expect(statuses(raw), what).toEqual([what === 'an unknown Expect' ? '417' : '400']);
    expect(raw).toMatch(/\r\nconnection: close\r\n/i);
    expect(closed).toBe(true);
    expect(backend.requests).toHaveLength(0);
    // The listener is still fine.
    expect((await request(proxy.url('inbound'))).status).toBe(200);
  });

  it('answers 431 for a head over maxHeaderBytes even before it ends, and beyond maxHeaders', async () => {
    const port = await setup({ maxHeaderBytes: 2048, maxHeaders: 5 });
    const big = await exchange(port, `GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(4000)}`);
    expect(statuses(big.raw)).toEqual(['431']);
    expect(big.closed).toBe(true);
    const many = await exchange(port, `GET / HTTP/1.1\r\nHost: x\r\n${'X: 1\r\n'.repeat(5)}\r\n`);
    expect(statuses(many.raw)).toEqual(['431']);
    const fits = await exchange(port, `GET / HTTP/1.1\r\nHost: x\r\n${'X: 1\r\n'.repeat(3)}Connection: close\r\n\r\n`);
    expect(statuses(fits.raw)).toEqual(['200']);
    expect(backend.requests).toHaveLength(1);
  });
});

describe('inbound parser: smuggling attempts', () => {
  const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
  it.each([
    ['CL.TE', `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`],
    ['TE.CL', `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\n${smuggled}\r\n0\r\n\r\n`],
    ['TE.TE with an obfuscated second header', `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-encoding: x\r\n\r\n0\r\n\r\n${smuggled}`],
    ['TE with a space before the colon', `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n${smuggled}`],
    ['TE folded onto the previous line', `POST / HTTP/1.1\r\nHost: x\r\nX: y\r\n Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`],
    ['TE hidden behind a bare LF', `POST / HTTP/1.1\r\nHost: x\r\nX: y\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`],
    ['a chunk extension hiding a line break', `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2;x\nyy\r\nok\r\n0\r\n\r\n${smuggled}`],
    ['a chunk size with a 0x prefix', `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\nok\r\n0\r\n\r\n${smuggled}`],
    ['a chunk size overflowing 64 bits', `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000002\r\nok\r\n0\r\n\r\n${smuggled}`],
  ])('%s: refused, and /smuggled never reaches the upstream', async (_what, data) => {
    const port = await setup();
    const { raw, closed } = await exchange(port, data);
    expect(statuses(raw)[0]).toBe('400');
    expect(statuses(raw)).toHaveLength(1);
    expect(closed).toBe(true);
    await sleep(50);
    expect(backend.requests.map((r) => r.url)).not.toContain('/smuggled');
    expect(backend.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
  });
});

describe('inbound server: keep-alive, pipelining, bodies', () => {
  it('answers pipelined requests in order on one connection, bodies included', async () => {
    const port = await setup();
    const data =
      'GET /1 HTTP/1.1\r\nHost: x\r\n\r\n' +
      'POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' +
      'POST /3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;ext="v"\r\nabc\r\n0\r\nX-T: 1\r\n\r\n' +
      '\r\nGET /4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const { raw, closed } = await exchange(port, data);
    expect(statuses(raw)).toEqual(['200', '200', '200', '200']);
    const bodies = [...raw.matchAll(/(GET|POST) \/\d [a-z]*/g)].map((m) => m[0]);
    expect(bodies).toEqual(['GET /1 ', 'POST /2 hello', 'POST /3 abc', 'GET /4 ']);
    expect(closed).toBe(true);
    expect(backend.requests.map((r) => r.url)).toEqual(['/1', '/2', '/3', '/4']);
  });

  it('reads a request whose head and body arrive byte by byte in pieces', async () => {
    const port = await setup();
    const text = 'POST /slow HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\nslow\r\n0\r\n\r\n';
    const pieces = text.match(/.{1,7}/gs)!;
    const { raw } = await exchange(port, pieces, 5000);
    expect(statuses(raw)).toEqual(['200']);
    expect(raw).toContain('POST /slow slow');
  });

  it('answers Expect: 100-continue with 100 before the final response', async () => {
    const port = await setup();
    const socket = net.connect(port, '127.0.0.1');
    let raw = '';
    socket.on('data', (c) => (raw += c.toString('latin1')));
    socket.write('PUT /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n');
    await waitFor(() => raw.includes('100 Continue'));
    expect(raw).not.toContain('200');
    socket.write('body');
    await new Promise((r) => socket.on('close', r));
    expect(statuses(raw)).toEqual(['100', '200']);
    expect(raw).toContain('PUT /e body');
    expect(backend.requests[0]!.headers.expect).toBeUndefined();
  });

  it('keeps HTTP/1.0 keep-alive connections open when asked, and frames by closing otherwise', async () => {
    backend = await startBackend((req, res) => {
      if (req.url === '/sized') return void res.end('sized'); // Content-Length
      res.write('no length'); // chunked from the backend: an HTTP/1.0 client needs close-delimited
      res.end();
    });
    proxy = await startProxy(baseConfig(backend.port));
    const port = proxy.port('inbound');
    const plain = await exchange(port, 'GET / HTTP/1.0\r\n\r\n');
    expect(plain.raw).toMatch(/^HTTP\/1\.1 200/);
    expect(plain.raw).not.toMatch(/transfer-encoding/i);
    expect(plain.raw.endsWith('\r\n\r\nno length')).toBe(true);
    expect(plain.closed).toBe(true);
    const kept = await exchange(port, 'GET /sized HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', 500);
    expect(kept.raw).toMatch(/^HTTP\/1\.1 200 /);
    expect(kept.raw).toMatch(/\r\nconnection: keep-alive\r\n/i);
    expect(kept.raw.endsWith('\r\n\r\nsized')).toBe(true);
    expect(kept.closed).toBe(false);
  });
  it('answers a request whose client half-closed right after sending it, then closes', async () => {
    const port = await setup();
    const socket = net.connect(port, '127.0.0.1');
    let raw = '';
    socket.on('data', (c) => (raw += c.toString('latin1')));
    socket.end('GET /half HTTP/1.1\r\nHost: x\r\n\r\nGET /half2 HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => socket.on('close', r));
    expect(statuses(raw)).toEqual(['200', '200']);
    expect(backend.requests.map((r) => r.url)).toEqual(['/half', '/half2']);
  });

  it('closes keep-alive connections idle for idleMs, and silent new ones with 408 after headersMs', async () => {
    backend = await startBackend();
    proxy = await startProxy(baseConfig(backend.port, { timeouts: { idleMs: 300, headersMs: 400 } }));
    const port = proxy.port('inbound');
    const started = Date.now();
    const idle = await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 3000);
    expect(statuses(idle.raw)).toEqual(['200']);
    expect(idle.closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
    const silent = await exchange(port, [], 3000);
    expect(statuses(silent.raw)).toEqual(['408']);
    expect(silent.closed).toBe(true);
  });
});

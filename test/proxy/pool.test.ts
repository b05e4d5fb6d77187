import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { baseConfig, metrics, request, startBackend, startProxy, waitFor, type Backend, type TestProxy } from './helpers/harness.js';

let backend: Backend | null = null;
let raw: net.Server | null = null;
let proxy: TestProxy;

afterEach(async () => {
  await proxy?.close();
  await backend?.close();
  backend = null;
  raw?.close();
  raw = null;
});

/** Counts TCP connections the backend accepted. */
function countConnections(server: http.Server | net.Server): () => number {
  let n = 0;
  server.on('connection', () => n++);
  return () => n;
}

/** A raw TCP upstream answering each request head with whatever `reply` returns. */
async function rawUpstream(reply: (request: string, n: number, socket: net.Socket) => void): Promise<number> {
  let n = 0;
  raw = net.createServer((socket) => {
    let buffered = '';
    socket.on('data', (d) => {
      buffered += d.toString('latin1');
      while (buffered.includes('\r\n\r\n')) {
        const end = buffered.indexOf('\r\n\r\n') + 4;
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end);
        reply(head, ++n, socket);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => raw!.listen(0, '127.0.0.1', r));
  return (raw.address() as net.AddressInfo).port;
}

describe('upstream connection pool', () => {
  it('reuses keep-alive connections to the upstream', async () => {
    backend = await startBackend();
    const connections = countConnections(backend.server);
    proxy = await startProxy(baseConfig(backend.port));
    for (let i = 0; i < 5; i++) expect((await request(proxy.url('inbound'))).status).toBe(200);
    expect(connections()).toBe(1);
    const m = await metrics(proxy.adminUrl('/metrics'));
    expect(m.get(`sidecarctl_proxy_upstream_connections{listener="inbound",upstream="127.0.0.1:${backend.port}"}`)).toBe(1);
  });

  it('opens a new connection after the upstream answers Connection: close', async () => {
    backend = await startBackend((_req, res) => {
      res.setHeader('connection', 'close');
      res.end('bye');
    });
    const connections = countConnections(backend.server);
    proxy = await startProxy(baseConfig(backend.port));
    for (let i = 0; i < 3; i++) expect((await request(proxy.url('inbound'))).body).toBe('bye');
    expect(connections()).toBe(3);
  });

  it('queues requests beyond maxConnections instead of opening more', async () => {
    const held: (() => void)[] = [];
    backend = await startBackend((_req, res) => held.push(() => res.end('ok')));
    const connections = countConnections(backend.server);
    proxy = await startProxy(baseConfig(backend.port, { circuitBreaker: { maxConnections: 2, maxPending: 10 } }));
    const replies = Array.from({ length: 5 }, () => request(proxy.url('inbound')));
    await waitFor(() => held.length === 2);
    for (let released = 0; released < 5; released++) {
      await waitFor(() => held.length > 0, 2000, `request ${released + 1} at the upstream`);
      held.shift()!();
    }
    expect((await Promise.all(replies)).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(connections()).toBe(2);
  });

  it('retries once, on a new connection, when a reused connection is closed before answering', async () => {
    // The second request on each connection finds it closed: the keep-alive race.
    const port = await rawUpstream((_head, n, socket) => {
      if (n === 2) socket.destroy();
      else socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n${String(n).padStart(2, '0')}`);
    });
    proxy = await startProxy(baseConfig(port));
    expect((await request(proxy.url('inbound'))).body).toBe('01');
    const r = await request(proxy.url('inbound'));
    expect(r.status).toBe(200);
    expect(r.body).toBe('03');
    // Not for a POST: it may have been processed.
    const post = await rawUpstreamPost();
    expect(post).toBe(502);
  });

  it('answers 502 and drops the connection when the upstream sends garbage or smuggles a second response', async () => {
    const port = await rawUpstream((head, n, socket) => {
      if (head.startsWith('GET /garbage')) socket.write('NOT HTTP AT ALL\r\n\r\n');
      else if (head.startsWith('GET /split')) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nevil');
      else socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\ngood`);
      void n;
    });
    proxy = await startProxy(baseConfig(port));
    expect((await request(proxy.url('inbound', '/garbage'))).status).toBe(502);
    const split = await request(proxy.url('inbound', '/split')).catch(() => null);
    expect(split?.body ?? '').not.toContain('evil');
    expect((await request(proxy.url('inbound', '/next'))).body).toBe('good');
  });

  it('passes chunked and close-delimited upstream bodies through intact', async () => {
    const port = await rawUpstream((head, _n, socket) => {
      if (head.startsWith('GET /chunked')) socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n');
      else socket.end('HTTP/1.1 200 OK\r\n\r\nuntil close');
    });
    proxy = await startProxy(baseConfig(port));
    expect((await request(proxy.url('inbound', '/chunked'))).body).toBe('abcdefg');
    expect((await request(proxy.url('inbound', '/close'))).body).toBe('until close');
  });
});

/** A POST over a reused connection that the upstream closes: must not be replayed. */
async function rawUpstreamPost(): Promise<number> {
  await proxy.close();
  raw?.close();
  let n = 0;
  const port = await rawUpstream((_head, _i, socket) => {
    n++;
    if (n === 2) socket.destroy();
    else socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
  });
  proxy = await startProxy(baseConfig(port));
  await request(proxy.url('inbound'), { method: 'POST', body: 'x' });
  const second = await request(proxy.url('inbound'), { method: 'POST', body: 'y' });
  expect(n).toBe(2);
  return second.status;
}

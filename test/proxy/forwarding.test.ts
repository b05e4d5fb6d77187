import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { baseConfig, metrics, pumpBytes, request, startBackend, startProxy, waitFor, type Backend, type TestProxy } from './helpers/harness.js';

let backend: Backend;
let proxy: TestProxy;

afterEach(async () => {
  await proxy?.close();
  await backend?.close();
});

describe('forwarding', () => {
  it('forwards method, path, query and body, and returns the upstream answer', async () => {
    backend = await startBackend((req, res, body) => {
      res.writeHead(201, { 'x-upstream': 'yes', 'content-type': 'text/plain' });
      res.end(`${req.method} ${req.url} ${body}`);
    });
    proxy = await startProxy(baseConfig(backend.port));
    const r = await request(proxy.url('inbound', '/items/7?x=1&y=%20'), { method: 'PUT', body: 'payload' });
    expect(r.status).toBe(201);
    expect(r.body).toBe('PUT /items/7?x=1&y=%20 payload');
    expect(r.headers['x-upstream']).toBe('yes');
  });

  it('sets x-forwarded-*, propagates or generates x-request-id, strips hop-by-hop headers', async () => {
    backend = await startBackend((_req, res) => {
      res.setHeader('connection', 'keep-alive, x-hop-resp');
      res.setHeader('x-hop-resp', 'secret');
      res.setHeader('proxy-authenticate', 'Basic');
      res.end('ok');
    });
    proxy = await startProxy(baseConfig(backend.port));
    const r = await request(proxy.url('inbound'), {
      headers: {
        'x-request-id': 'req-123',
        'x-forwarded-for': '10.1.2.3',
        'x-forwarded-proto': 'https',
        connection: 'keep-alive, x-hop',
        'x-hop': 'dropped',
        'keep-alive': 'timeout=5',
        'proxy-authorization': 'Basic abc',
        te: 'trailers',
        'x-end-to-end': 'kept',
      },
    });
    expect(r.status).toBe(200);
    const seen = backend.requests[0]!.headers;
    expect(seen['x-request-id']).toBe('req-123');
    expect(seen['x-forwarded-for']).toBe('10.1.2.3, 127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-end-to-end']).toBe('kept');
    for (const h of ['x-hop', 'keep-alive', 'proxy-authorization', 'te']) expect(seen[h], h).toBeUndefined();
    expect(r.headers['x-hop-resp']).toBeUndefined();
    expect(r.headers['proxy-authenticate']).toBeUndefined();

    await request(proxy.url('inbound'));
    const generated = backend.requests[1]!.headers['x-request-id'] as string;
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    const log = await waitFor(() => proxy.access().find((l) => l.requestId === generated));
    expect(log.status).toBe(200);
  });

  it('writes one JSON access-log line per request with the documented fields', async () => {
    backend = await startBackend((_req, res) => res.end('0123456789'));
    proxy = await startProxy(baseConfig(backend.port));
    await request(proxy.url('inbound', '/logged?q="x"'), { method: 'POST', body: 'abc', headers: { 'x-request-id': 'log-1' } });
    const lines = await waitFor(() => (proxy.access().length === 1 ? proxy.access() : null));
    const line = lines[0]!;
    expect(Object.keys(line)).toEqual([
      'time', 'listener', 'method', 'path', 'status', 'bytesReceived', 'bytesSent', 'durationMs', 'upstream', 'attempts', 'requestId', 'error',
    ]);
    expect(line).toMatchObject({
      listener: 'inbound',
      method: 'POST',
      path: '/logged?q=%22x%22',
      status: 200,
      bytesReceived: 3,
      bytesSent: 10,
      upstream: `127.0.0.1:${backend.port}`,
      attempts: 1,
      requestId: 'log-1',
      error: null,
    });
    expect(new Date(line.time).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(line.durationMs).toBeGreaterThan(0);
  });

  it('outbound listeners rewrite Host to the target and keep connections alive', async () => {
    backend = await startBackend((req, res) => res.end(String(req.headers.host)));
    proxy = await startProxy({ outbound: [{ name: 'api', port: 0, target: { host: '127.0.0.1', port: backend.port } }], admin: { port: 0 } });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const r1 = await request(proxy.url('api'), { agent });
    const r2 = await request(proxy.url('api'), { agent });
    agent.destroy();
    expect(r1.body).toBe(`127.0.0.1:${backend.port}`);
    expect(r2.status).toBe(200);
    const m = await metrics(proxy.adminUrl('/metrics'));
    expect(m.get('sidecarctl_proxy_connections_total{listener="api"}')).toBe(1);
  });

  it('streams large bodies in both directions without buffering them', async () => {
    const size = 50 * 1024 * 1024;
    // An upstream that echoes the request body back as it arrives.
    const echo = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const port = (echo.address() as { port: number }).port;
    proxy = await startProxy(baseConfig(port));

    let received = 0;
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(proxy.url('inbound', '/echo'), { method: 'POST', agent: false }, (res) => {
        res.on('data', (c: Buffer) => (received += c.length));
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      pumpBytes(req, size, 64 * 1024, 7);
    });
    echo.close();
    expect(status).toBe(200);
    expect(received).toBe(size);
    const line = await waitFor(() => proxy.access()[0]);
    expect(line.bytesReceived).toBe(size);
    expect(line.bytesSent).toBe(size);
  });

  it('exposes Prometheus metrics with correct counts', async () => {
    backend = await startBackend((req, res) => {
      res.statusCode = req.url === '/missing' ? 404 : 200;
      res.end();
    });
    proxy = await startProxy(baseConfig(backend.port));
    for (let i = 0; i < 3; i++) await request(proxy.url('inbound', '/'));
    await request(proxy.url('inbound', '/missing'));
    const m = await metrics(proxy.adminUrl('/metrics'));
    const labels = `listener="inbound",upstream="127.0.0.1:${backend.port}"`;
    expect(m.get(`sidecarctl_proxy_requests_total{${labels},code="200"}`)).toBe(3);
    expect(m.get(`sidecarctl_proxy_requests_total{${labels},code="404"}`)).toBe(1);
    expect(m.get(`sidecarctl_proxy_request_duration_seconds_count{${labels}}`)).toBe(4);
    expect(m.get(`sidecarctl_proxy_request_duration_seconds_bucket{${labels},le="+Inf"}`)).toBe(4);
    expect(m.get(`sidecarctl_proxy_retries_total{${labels}}`)).toBe(0);
    expect(m.get(`sidecarctl_proxy_circuit_state{${labels}}`)).toBe(0);
    expect(m.get('sidecarctl_proxy_rate_limited_total{listener="inbound"}')).toBe(0);
    expect(m.get('sidecarctl_proxy_connections_total{listener="inbound"}')).toBe(4);
    expect(m.get('sidecarctl_proxy_active_requests{listener="inbound"}')).toBe(0);
    expect(m.get('sidecarctl_proxy_process_resident_memory_bytes')).toBeGreaterThan(1e6);

    expect((await request(proxy.adminUrl('/ready'))).status).toBe(200);
    expect((await request(proxy.adminUrl('/live'))).status).toBe(200);
    expect((await request(proxy.adminUrl('/nope'))).status).toBe(404);
  });

  it('answers 502 when the upstream closes without answering, and 503 when nothing listens', async () => {
    backend = await startBackend((req) => req.socket.destroy());
    proxy = await startProxy({
      ...baseConfig(backend.port),
      outbound: [{ name: 'down', port: 0, target: { host: '127.0.0.1', port: 1 } }],
    });
    const reset = await request(proxy.url('inbound'));
    expect(reset.status).toBe(502);
    const refused = await request(proxy.url('down'));
    expect(refused.status).toBe(503);
    const lines = await waitFor(() => (proxy.access().length === 2 ? proxy.access() : null));
    expect(lines.map((l) => l.error).sort()).toEqual(['upstream-connect-failure', 'upstream-reset']);
  });
});

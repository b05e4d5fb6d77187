import { afterEach, describe, expect, it } from 'vitest';
import { baseConfig, metrics, rawRequest, request, sleep, startBackend, startProxy, waitFor, type Backend, type TestProxy } from './helpers/harness.js';

let backend: Backend;
let proxy: TestProxy;

afterEach(async () => {
  await proxy?.close();
  await backend?.close();
});

describe('rate limiting', () => {
  it('answers 429 with Retry-After beyond the burst, and refills over time', async () => {
    backend = await startBackend();
    proxy = await startProxy(baseConfig(backend.port, { rateLimit: { rps: 5, burst: 3 } }));
    const replies = [];
    for (let i = 0; i < 5; i++) replies.push(await request(proxy.url('inbound')));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 429, 429]);
    expect(replies[3]!.headers['retry-after']).toBe('1');
    expect(backend.requests).toHaveLength(3);
    await sleep(450); // 5 rps: two tokens back
    expect((await request(proxy.url('inbound'))).status).toBe(200);
    const m = await metrics(proxy.adminUrl('/metrics'));
    expect(m.get('sidecarctl_proxy_rate_limited_total{listener="inbound"}')).toBe(2);
    const limited = proxy.access().filter((l) => l.status === 429);
    expect(limited.every((l) => l.error === 'rate-limited' && l.attempts === 0)).toBe(true);
  });
});

describe('circuit breaking', () => {
  it('rejects requests beyond maxConnections + maxPending with 503 and an overflow header', async () => {
    const held: (() => void)[] = [];
    backend = await startBackend((_req, res) => held.push(() => res.end('done')));
    proxy = await startProxy(baseConfig(backend.port, { circuitBreaker: { maxConnections: 1, maxPending: 1, maxRequests: 100 } }));
    const first = request(proxy.url('inbound'));
    const second = request(proxy.url('inbound'));
    await waitFor(() => held.length === 1); // the second waits for the only connection
    const third = await request(proxy.url('inbound'));
    expect(third.status).toBe(503);
    expect(third.headers['x-sidecarctl-overflow']).toBe('max-pending');
    held.shift()!();
    await waitFor(() => held.length === 1);
    held.shift()!();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    const m = await metrics(proxy.adminUrl('/metrics'));
    expect(m.get(`sidecarctl_proxy_overflow_total{listener="inbound",upstream="127.0.0.1:${backend.port}",reason="max-pending"}`)).toBe(1);
  });

  it('rejects requests beyond maxRequests', async () => {
    const held: (() => void)[] = [];
    backend = await startBackend((_req, res) => held.push(() => res.end('done')));
    proxy = await startProxy(baseConfig(backend.port, { circuitBreaker: { maxConnections: 10, maxPending: 10, maxRequests: 2 } }));
    const inflight = [request(proxy.url('inbound')), request(proxy.url('inbound'))];
    await waitFor(() => held.length === 2);
    const over = await request(proxy.url('inbound'));
    expect(over.status).toBe(503);
    expect(over.headers['x-sidecarctl-overflow']).toBe('max-requests');
    held.forEach((f) => f());
    expect((await Promise.all(inflight)).map((r) => r.status)).toEqual([200, 200]);
  });

  it('ejects the upstream after consecutive 5xx, then recovers through a half-open probe', async () => {
    let healthy = false;
    backend = await startBackend((_req, res) => {
      res.statusCode = healthy ? 200 : 500;
      res.end();
    });
    proxy = await startProxy(baseConfig(backend.port, { circuitBreaker: { consecutive5xx: 3, ejectionMs: 400 } }));
    const labels = `listener="inbound",upstream="127.0.0.1:${backend.port}"`;
    for (let i = 0; i < 3; i++) expect((await request(proxy.url('inbound'))).status).toBe(500);
    const ejected = await request(proxy.url('inbound'));
    expect(ejected.status).toBe(503);
    expect(ejected.headers['x-sidecarctl-overflow']).toBe('circuit-open');
    expect(backend.requests).toHaveLength(3); // the ejected request never reached the upstream
    expect((await metrics(proxy.adminUrl('/metrics'))).get(`sidecarctl_proxy_circuit_state{${labels}}`)).toBe(1);

    healthy = true;
    await sleep(450);
    expect((await request(proxy.url('inbound'))).status).toBe(200); // the probe
    expect((await metrics(proxy.adminUrl('/metrics'))).get(`sidecarctl_proxy_circuit_state{${labels}}`)).toBe(0);
    expect((await request(proxy.url('inbound'))).status).toBe(200);
  });

  it('a failed probe ejects the upstream again', async () => {
    backend = await startBackend((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    proxy = await startProxy(baseConfig(backend.port, { circuitBreaker: { consecutive5xx: 1, ejectionMs: 200 } }));
    expect((await request(proxy.url('inbound'))).status).toBe(503);
    expect((await request(proxy.url('inbound'))).headers['x-sidecarctl-overflow']).toBe('circuit-open');
    await sleep(250);
    const probe = await request(proxy.url('inbound'));
    expect(probe.headers['x-sidecarctl-overflow']).toBeUndefined(); // reached the upstream
    expect((await request(proxy.url('inbound'))).headers['x-sidecarctl-overflow']).toBe('circuit-open');
    expect(backend.requests).toHaveLength(2);
  });
});

describe('malformed and hostile requests', () => {
  it('get the right status, never reach the upstream, and the proxy stays up', async () => {
    backend = await startBackend();
    proxy = await startProxy(baseConfig(backend.port));
    const port = proxy.port('inbound');
    const status = (raw: string) => /^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1];

    expect(status(await rawRequest(port, 'GARBAGE\r\n\r\n'))).toBe('400');
    expect(status(await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Big: ' + 'a'.repeat(20_000) + '\r\n\r\n'))).toBe('431');
    const many = Array.from({ length: 101 }, (_, i) => `X-H${i}: v\r\n`).join('');
    expect(status(await rawRequest(port, `GET / HTTP/1.1\r\nHost: x\r\n${many}\r\n`))).toBe('431');
    expect(
      status(await rawRequest(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n')),
    ).toBe('400');
    expect(status(await rawRequest(port, 'GET http://evil.example/ HTTP/1.1\r\nHost: evil.example\r\n\r\n'))).toBe('400');
    expect(status(await rawRequest(port, 'CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n'))).toBe('405');
    expect(status(await rawRequest(port, 'GET / HTTP/1.1\r\n\r\n'))).toBe('400'); // no Host
    expect(status(await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n'))).toBe('400');
    expect(status(await rawRequest(port, 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'))).toBe('400');
    expect(status(await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nX: a\nInjected: b\r\n\r\n'))).toBe('400');

    expect(backend.requests).toHaveLength(0);
    expect((await request(proxy.url('inbound'))).status).toBe(200);
    expect(backend.requests).toHaveLength(1);
    // HTTP/1.0 without Host is valid; the upstream (HTTP/1.1) still gets one.
    expect(status(await rawRequest(port, 'GET /old HTTP/1.0\r\n\r\n'))).toBe('200');
    expect(backend.requests[1]!.headers.host).toBe(`127.0.0.1:${backend.port}`);
  });

  it('answers 413 for bodies over limits.maxBodyBytes, declared or streamed', async () => {
    backend = await startBackend();
    proxy = await startProxy({ ...baseConfig(backend.port), limits: { maxBodyBytes: 1000 } });
    expect((await request(proxy.url('inbound'), { method: 'POST', body: 'x'.repeat(2000) })).status).toBe(413);
    const chunked = await rawRequest(
      proxy.port('inbound'),
      `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${(1500).toString(16)}\r\n${'y'.repeat(1500)}\r\n0\r\n\r\n`,
    );
    expect(chunked).toMatch(/^HTTP\/1\.1 413/);
    expect((await request(proxy.url('inbound'), { method: 'POST', body: 'small' })).status).toBe(200);
  });

  it('closes connections that stall while sending headers', async () => {
    backend = await startBackend();
    proxy = await startProxy(baseConfig(backend.port, { timeouts: { headersMs: 300 } }));
    const started = Date.now();
    const raw = await rawRequest(proxy.port('inbound'), 'GET / HTTP/1.1\r\nHost: x\r\n', 5000);
    expect(raw).toMatch(/^HTTP\/1\.1 408/);
    expect(Date.now() - started).toBeLessThan(4000);
  });
});

describe('stalled streams', () => {
  it('closes a connection whose request body stalls for idleMs', async () => {
    backend = await startBackend();
    proxy = await startProxy(baseConfig(backend.port, { timeouts: { idleMs: 300, requestMs: 10_000 } }));
    const started = Date.now();
    const raw = await rawRequest(proxy.port('inbound'), 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten..', 5000);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(raw).not.toMatch(/^HTTP\/1\.1 200/);
    const line = await waitFor(() => proxy.access()[0]);
    expect(line.error).toBe('client-closed');
  });

  it('cuts the client connection when the upstream stalls mid-body for idleMs', async () => {
    backend = await startBackend((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial'); // and never the rest
    });
    proxy = await startProxy(baseConfig(backend.port, { timeouts: { idleMs: 300, requestMs: 10_000 } }));
    const started = Date.now();
    await expect(request(proxy.url('inbound'))).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(3000);
    const line = await waitFor(() => proxy.access()[0]);
    expect(line).toMatchObject({ status: 200, error: 'response-aborted', bytesSent: 7 });
  });
});

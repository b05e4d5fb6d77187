import { afterEach, describe, expect, it } from 'vitest';
import type { RetriesConfig } from '../../src/proxy/config.js';
import { baseConfig, metrics, request, sleep, startBackend, startProxy, waitFor, type Backend, type TestProxy } from './helpers/harness.js';

let backend: Backend;
let proxy: TestProxy;

afterEach(async () => {
  await proxy?.close();
  await backend?.close();
});

const fastRetries = (extra: RetriesConfig = {}): RetriesConfig => ({
  attempts: 3,
  retryOn: ['5xx'],
  backoff: { baseMs: 1, maxMs: 5 },
  budget: { percent: 100, minConcurrency: 10 },
  ...extra,
});

describe('retries', () => {
  it('retries 500 and 503 and succeeds; attempts are logged and counted', async () => {
    backend = await startBackend((_req, res, _body, n) => {
      res.statusCode = n === 1 ? 500 : n === 2 ? 503 : 200;
      res.end(`answer ${n}`);
    });
    proxy = await startProxy(baseConfig(backend.port, { retries: fastRetries() }));
    const r = await request(proxy.url('inbound', '/flaky'));
    expect(r.status).toBe(200);
    expect(r.body).toBe('answer 3');
    expect(backend.requests).toHaveLength(3);
    const line = await waitFor(() => proxy.access()[0]);
    expect(line.attempts).toBe(3);
    expect(line.status).toBe(200);
    const m = await metrics(proxy.adminUrl('/metrics'));
    expect(m.get(`sidecarctl_proxy_retries_total{listener="inbound",upstream="127.0.0.1:${backend.port}"}`)).toBe(2);
  });

  it('returns the last upstream answer when attempts run out', async () => {
    backend = await startBackend((_req, res, _b, n) => {
      res.statusCode = 503;
      res.end(`no ${n}`);
    });
    proxy = await startProxy(baseConfig(backend.port, { retries: fastRetries({ attempts: 2 }) }));
    const r = await request(proxy.url('inbound'));
    expect(r.status).toBe(503);
    expect(r.body).toBe('no 2');
    expect(backend.requests).toHaveLength(2);
  });

  it('only retries what retryOn names (gateway-error does not cover 500)', async () => {
    backend = await startBackend((_req, res) => {
      res.statusCode = 500;
      res.end();
    });
    proxy = await startProxy(baseConfig(backend.port, { retries: fastRetries({ retryOn: ['gateway-error'] }) }));
    expect((await request(proxy.url('inbound'))).status).toBe(500);
    expect(backend.requests).toHaveLength(1);
  });

  it('retries a small PUT body (buffered) and sends it again intact', async () => {
    backend = await startBackend((_req, res, body, n) => {
      res.statusCode = n === 1 ? 502 : 200;
      res.end(body);
    });
    proxy = await startProxy(baseConfig(backend.port, { retries: fastRetries() }));
    const r = await request(proxy.url('inbound'), { method: 'PUT', body: 'same body' });
    expect(r.status).toBe(200);
    expect(backend.requests.map((q) => q.body)).toEqual(['same body', 'same body']);
  });

  it('does not retry a POST, unless the client opts in with x-sidecarctl-retry: true', async () => {
    backend = await startBackend((_req, res, _b, n) => {
      res.statusCode = n <= 2 ? 503 : 200;
      res.end();
    });
    proxy = await startProxy(baseConfig(backend.port, { retries: fastRetries() }));
    const plain = await request(proxy.url('inbound'), { method: 'POST', body: 'order' });
    expect(plain.status).toBe(503);
    expect(backend.requests).toHaveLength(1);

    const optIn = await request(proxy.url('inbound'), { method: 'POST', body: 'order', headers: { 'x-sidecarctl-retry': 'true' } });
    expect(optIn.status).toBe(200);
    expect(backend.requests).toHaveLength(3);
    expect(backend.requests[2]!.headers['x-sidecarctl-retry']).toBeUndefined();
  });

  it('gives each attempt a per-try timeout, then succeeds on the next attempt', async () => {
    backend = await startBackend((_req, res, _b, n) => {
      if (n === 1) setTimeout(() => res.end('too late'), 1500);
      else res.end('fast');
    });
    proxy = await startProxy(baseConfig(backend.port, { retries: fastRetries({ retryOn: ['timeout'], perTryTimeoutMs: 150 }) }));
    const r = await request(proxy.url('inbound'));
    expect(r.status).toBe(200);
    expect(r.body).toBe('fast');
    const line = await waitFor(() => proxy.access()[0]);
    expect(line.attempts).toBe(2);
  });

  it('answers 504 when the overall request timeout expires', async () => {
    backend = await startBackend((_req, res) => setTimeout(() => res.end('late'), 3000));
    proxy = await startProxy(baseConfig(backend.port, { timeouts: { requestMs: 300 }, retries: fastRetries({ perTryTimeoutMs: 200, retryOn: ['timeout'] }) }));
    const started = Date.now();
    const r = await request(proxy.url('inbound'));
    expect(r.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(2500);
    const line = await waitFor(() => proxy.access()[0]);
    expect(line.error).toBe('upstream-timeout');
  });

  it('retries connection resets and refused connections', async () => {
    backend = await startBackend((req, res, _b, n) => {
      if (n === 1) req.socket.destroy();
      else res.end('recovered');
    });
    proxy = await startProxy(baseConfig(backend.port, { retries: fastRetries({ retryOn: ['reset'] }) }));
    const r = await request(proxy.url('inbound'));
    expect(r.body).toBe('recovered');
  });

  it('caps concurrent retries with the retry budget', async () => {
    // Every answer is a slow 503: without a budget each of the 10 requests would retry once.
    backend = await startBackend((_req, res) => setTimeout(() => {
      res.statusCode = 503;
      res.end();
    }, 300));
    proxy = await startProxy(
      baseConfig(backend.port, { retries: fastRetries({ attempts: 2, budget: { percent: 0, minConcurrency: 1 } }) }),
    );
    const replies = await Promise.all(Array.from({ length: 10 }, () => request(proxy.url('inbound'))));
    expect(replies.every((r) => r.status === 503)).toBe(true);
    expect(backend.requests.length).toBe(11); // 10 first attempts + 1 budgeted retry
    const lines = await waitFor(() => (proxy.access().length === 10 ? proxy.access() : null));
    expect(lines.filter((l) => l.attempts === 2)).toHaveLength(1);
  });

  it('without a budget limit every request retries (control for the budget test)', async () => {
    backend = await startBackend((_req, res) => setTimeout(() => {
      res.statusCode = 503;
      res.end();
    }, 100));
    proxy = await startProxy(baseConfig(backend.port, { retries: fastRetries({ attempts: 2, budget: { percent: 100, minConcurrency: 100 } }) }));
    await Promise.all(Array.from({ length: 10 }, () => request(proxy.url('inbound'))));
    await sleep(10);
    expect(backend.requests.length).toBe(20);
  });
});

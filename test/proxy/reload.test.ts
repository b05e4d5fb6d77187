import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProxyConfig } from '../../src/proxy/config.js';
import { runProxy } from '../../src/proxy/main.js';
import { baseConfig, metrics, request, sleep, startBackend, startProxy, tempDir, waitFor, type Backend, type TestProxy } from './helpers/harness.js';
import { SecretVolume } from './helpers/secret-volume.js';

let backends: Backend[] = [];
let proxy: TestProxy | null = null;

afterEach(async () => {
  await proxy?.close();
  proxy = null;
  await Promise.all(backends.map((b) => b.close()));
  backends = [];
});

async function backend(name: string, delayMs = 0): Promise<Backend> {
  const b = await startBackend((_req, res) => setTimeout(() => res.end(name), delayMs));
  backends.push(b);
  return b;
}

/** Keeps `concurrency` keep-alive clients busy until stopped; records every outcome. */
function steadyLoad(url: () => string, concurrency: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const outcomes: string[] = [];
  let running = true;
  const worker = async () => {
    while (running) {
      try {
        const r = await request(url(), { agent });
        outcomes.push(r.status === 200 ? r.body : `status ${r.status}`);
      } catch (err) {
        outcomes.push(`error ${(err as Error).message}`);
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    outcomes,
    async stop() {
      running = false;
      await Promise.all(workers);
      agent.destroy();
    },
  };
}

describe('config reload', () => {
  it('applies changes under steady load with zero failed requests', async () => {
    const a = await backend('a', 2);
    const b = await backend('b', 2);
    const config = baseConfig(a.port);
    proxy = await startProxy(config);
    const p = proxy;
    const load = steadyLoad(() => p.url('inbound'), 8);
    await sleep(300);
    p.writeConfig({ ...config, inbound: { ...config.inbound!, rateLimit: { rps: 100_000, burst: 100_000 }, retries: { attempts: 2 } } });
    await sleep(300);
    p.writeConfig({ ...config, inbound: { ...config.inbound!, target: { host: '127.0.0.1', port: b.port }, timeouts: { requestMs: 5000, idleMs: 5000, headersMs: 1000 } } });
    await waitFor(() => load.outcomes.slice(-20).every((o) => o === 'b') && load.outcomes.length > 50, 5000, 'traffic on b');
    p.writeConfig({ ...config, inbound: { ...config.inbound!, target: { host: '127.0.0.1', port: b.port }, circuitBreaker: { maxConnections: 4 } } });
    await sleep(300);
    await load.stop();

    const failures = load.outcomes.filter((o) => o !== 'a' && o !== 'b');
    expect(failures).toEqual([]);
    expect(load.outcomes.length).toBeGreaterThan(100);
    expect(load.outcomes).toContain('a');
    expect(load.outcomes.at(-1)).toBe('b');
    const m = await metrics(p.adminUrl('/metrics'));
    expect(m.get('sidecarctl_proxy_config_reloads_total{result="ok"}')).toBe(3);
    expect(p.handle.ports().listeners.inbound).toBe(p.port('inbound')); // same port throughout
  });

  it('loses no request when a reload replaces the frontend (keep-alive clients that never retry)', async () => {
    const a = await backend('a', 1);
    const config = baseConfig(a.port);
    proxy = await startProxy(config);
    const p = proxy;
    const load = steadyLoad(() => p.url('inbound'), 16);
    // maxHeaderBytes is fixed when a server is made: each of these reloads builds a new frontend
    // and retires the old one while its keep-alive connections are busy.
    for (const maxHeaderBytes of [8192, 16384, 12288, 16384, 9000]) {
      await sleep(150);
      p.writeConfig({ ...config, limits: { maxHeaderBytes } });
    }
    await sleep(300);
    await load.stop();
    const m = await metrics(p.adminUrl('/metrics'));
    expect(m.get('sidecarctl_proxy_config_reloads_total{result="ok"}')).toBe(5);
    expect(load.outcomes.filter((o) => o !== 'a')).toEqual([]);
    expect(load.outcomes.length).toBeGreaterThan(200);
  });

  it('rejects an invalid config with a JSON log line naming the problem, and keeps serving', async () => {
    const a = await backend('a');
    proxy = await startProxy(baseConfig(a.port));
    const p = proxy;
    writeFileSync(p.configPath, JSON.stringify({ ...baseConfig(a.port), inbound: { port: 0, target: { host: '127.0.0.1', port: 'eighty' } } }));
    const event = await waitFor(() => p.events().find((e) => e.msg === 'config reload rejected, keeping the current config'));
    expect(event.level).toBe('error');
    expect(String(event.error)).toContain('inbound.target.port: must be an integer');
    expect(event.issues).toEqual([{ path: 'inbound.target.port', message: 'must be an integer' }]);
    expect((await request(p.url('inbound'))).body).toBe('a');
    expect((await metrics(p.adminUrl('/metrics'))).get('sidecarctl_proxy_config_reloads_total{result="rejected"}')).toBe(1);

    writeFileSync(p.configPath, '{ "truncated": ');
    await waitFor(async () => (await metrics(p.adminUrl('/metrics'))).get('sidecarctl_proxy_config_reloads_total{result="rejected"}') === 2);
    expect((await request(p.url('inbound'))).body).toBe('a');
  });

  it('moves a listener to a new port, letting requests in flight on the old one finish', async () => {
    const slow = await backend('slow', 400);
    const config: ProxyConfig = { outbound: [{ name: 'api', port: 0, target: { host: '127.0.0.1', port: slow.port } }], admin: { port: 0 }, drainTimeoutMs: 3000 };
    proxy = await startProxy(config);
    const p = proxy;
    const oldPort = p.port('api');
    const inflight = request(p.url('api'));
    await sleep(50);
    const s = http.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const newPort = (s.address() as { port: number }).port;
    await new Promise((r) => s.close(r));
    p.writeConfig({ ...config, outbound: [{ ...config.outbound![0]!, port: newPort }] });
    await waitFor(() => p.handle.ports().listeners.api === newPort, 3000, 'new port');
    expect((await inflight).body).toBe('slow');
    expect((await request(`http://127.0.0.1:${newPort}/`)).body).toBe('slow');
    await waitFor(async () => {
      try {
        await request(`http://127.0.0.1:${oldPort}/`);
        return false;
      } catch {
        return true; // old port closed
      }
    }, 3000, 'old port closed');
  });

  it('sees ConfigMap-style symlink swaps', async () => {
    const a = await backend('a');
    const b = await backend('b');
    const volume = new SecretVolume(tempDir('sidecarctl-configmap-'));
    volume.write({ 'proxy.json': JSON.stringify(baseConfig(a.port)) });
    const handle = await runProxy(volume.path('proxy.json'), { stdout: new PassThrough(), stderr: new PassThrough(), watchOptions: { debounceMs: 30, pollMs: 0 } });
    try {
      const url = `http://127.0.0.1:${handle.ports().listeners.inbound}/`;
      expect((await request(url)).body).toBe('a');
      const next = baseConfig(b.port);
      next.inbound!.port = handle.ports().listeners.inbound!; // same port
      volume.write({ 'proxy.json': JSON.stringify(next) });
      await waitFor(async () => (await request(url)).body === 'b', 3000, 'reload after symlink swap');
    } finally {
      await handle.close();
    }
  });

  it('reload() reports unchanged files', async () => {
    const a = await backend('a');
    proxy = await startProxy(baseConfig(a.port), { watch: false });
    expect(await proxy.handle.reload()).toBe('unchanged');
    writeFileSync(join(proxy.dir, 'proxy.json'), JSON.stringify({ ...baseConfig(a.port), accessLog: { enabled: false } }));
    expect(await proxy.handle.reload()).toBe('applied');
    await request(proxy.url('inbound'));
    await sleep(20);
    expect(proxy.access()).toEqual([]);
  });
});

import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, pumpBytes, request, sleep, spawnProxy, startBackend, tempDir, waitFor, type Backend, type ChildProxy } from './helpers/harness.js';

let backend: Backend | null = null;
let proxy: ChildProxy | null = null;

beforeAll(async () => {
  await buildBundle();
}, 60_000);

afterEach(async () => {
  if (proxy && proxy.child.exitCode === null) proxy.child.kill('SIGKILL');
  proxy = null;
  await backend?.close();
  backend = null;
});

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

describe('the bundled proxy as a process', () => {
  it('on SIGTERM: /ready turns 503, in-flight requests finish, new connections are refused, exit 0', async () => {
    backend = await startBackend((_req, res) => setTimeout(() => res.end('finished'), 1200));
    proxy = await spawnProxy({
      inbound: { port: 0, address: '127.0.0.1', target: { host: '127.0.0.1', port: backend.port } },
      admin: { port: 0 },
      drainTimeoutMs: 10_000,
    });
    const p = proxy;
    const url = `http://127.0.0.1:${p.ports.inbound}/slow`;
    expect((await request(`http://127.0.0.1:${p.admin}/ready`)).status).toBe(200);

    const agent = new http.Agent({ keepAlive: true, maxSockets: 10 }); // all ten in flight at once
    const inflight = [
      ...Array.from({ length: 10 }, () => request(url, { agent })),
      ...Array.from({ length: 10 }, () => request(url)),
    ];
    await waitFor(() => backend!.requests.length === 0 && true); // requests are on their way
    await sleep(300);
    p.child.kill('SIGTERM');
    await waitFor(async () => (await request(`http://127.0.0.1:${p.admin}/ready`)).status === 503, 2000, '/ready 503');
    await expect(request(url)).rejects.toThrow(); // no longer accepting

    const replies = await Promise.all(inflight);
    agent.destroy();
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(replies.every((r) => r.body === 'finished')).toBe(true);
    expect(await p.exit).toBe(0);
    const lines = p.stdout().split('\n').filter(Boolean);
    expect(lines).toHaveLength(20); // every request logged, log flushed before exit
  });

  it('cuts what is still running at drainTimeoutMs and still exits 0', async () => {
    backend = await startBackend((_req, res) => setTimeout(() => res.end('too slow'), 5000));
    proxy = await spawnProxy({
      inbound: { port: 0, address: '127.0.0.1', target: { host: '127.0.0.1', port: backend.port } },
      admin: { port: 0 },
      drainTimeoutMs: 300,
    });
    const pending = request(`http://127.0.0.1:${proxy.ports.inbound}/`).catch((e: Error) => e);
    await sleep(200);
    const started = Date.now();
    proxy.child.kill('SIGTERM');
    expect(await proxy.exit).toBe(0);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await pending).toBeInstanceOf(Error);
  });

  it('streams 128 MB both ways without growing its memory by the body size', async () => {
    const size = 128 * 1024 * 1024;
    const sink = http.createServer((req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => {
        // and send the same amount back, slowly enough that backpressure matters
        res.writeHead(200);
        pumpBytes(res, n, 256 * 1024, 1);
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    proxy = await spawnProxy({
      inbound: { port: 0, address: '127.0.0.1', target: { host: '127.0.0.1', port: (sink.address() as { port: number }).port } },
      admin: { port: 0 },
    });
    const pid = proxy.child.pid!;
    const baseline = rssKb(pid);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssKb(pid))), 20);
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      const req = http.request(`http://127.0.0.1:${proxy!.ports.inbound}/upload`, { method: 'POST', agent: false }, (res) => {
        // read slowly at first: the proxy must apply backpressure rather than buffer
        res.pause();
        setTimeout(() => res.resume(), 300);
        res.on('data', (c: Buffer) => (received += c.length));
        res.on('end', resolve);
      });
      req.on('error', reject);
      pumpBytes(req, size, 256 * 1024, 2);
    });
    clearInterval(sampler);
    sink.close();
    expect(received).toBe(size);
    // Buffering either body would add at least 128 MB. Without buffering, growth stays around
    // 45 MB whatever the size: socket read buffers are external memory, and V8 only collects them
    // after 64 MB of external allocations.
    expect(peak - baseline).toBeLessThan(96 * 1024);
  });

  it('refuses to start on an invalid config, naming the offending setting, exit 1', async () => {
    const bundle = await buildBundle();
    const dir = tempDir();
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify({ inbound: { port: 8000, target: { host: '127.0.0.1', port: 8080 }, retries: { attempts: 0 } }, admin: { port: 0 } }));
    const child = spawn(process.execPath, [bundle, '--config', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(1);
    expect(err).toContain('inbound.retries.attempts: must be between 1 and 10');
    const noArgs = spawn(process.execPath, [bundle], { stdio: 'ignore' });
    expect(await new Promise((r) => noArgs.on('exit', r))).toBe(2);
  });
});

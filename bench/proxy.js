#!/usr/bin/env node
// Benchmark of the bundled proxy against nginx and HAProxy (`npm run bench:proxy`).
//
// Same backend, same load generators, same machine, one run:
//   - backend: nginx (1 worker) answering a fixed 12-byte body;
//   - targets: the backend directly, nginx (1 worker, proxy_pass with a keepalive upstream),
//     HAProxy (nbthread 1, http-reuse always), the bundled proxy (1 node process);
//   - throughput: wrk -t1 -c50 after a warm-up;
//   - latency: a fixed 1,000 rps schedule (bench/proxy/fixed-rate.js), percentiles measured from
//     the scheduled send time;
//   - memory: peak VmRSS of the proxy process while under load;
//   - slow readers: BENCH_SLOW_CLIENTS (default 100) clients each ask for a 10 MB response and
//     never read it, for BENCH_SLOW_SECONDS (default 3); peak VmRSS of the proxy process.
// On a machine with 2+ cores the proxy under test gets core 0 and the backend and load generators
// core 1 (taskset), so proxies do not fight the load generator for CPU.
//
// Every target runs for the whole benchmark and is measured in BENCH_ROUNDS interleaved rounds
// (medians reported), so that a slow minute on a shared machine hits all targets alike.
//
// Environment: BENCH_DURATION (seconds per wrk run, default 5), BENCH_ROUNDS (default 3),
// BENCH_CONNECTIONS (default 50), BENCH_RATE (default 1000), BENCH_LATENCY_DURATION (seconds
// per fixed-rate run, default 4), BENCH_KEEP=1 keeps the temp directory, BENCH_EXTRA_BUNDLES=
// "name=/path/bundle.mjs,..." adds prebuilt proxy bundles as further targets (e.g. a build of the
// previous version, to compare old and new in the same session).
//
// Besides req/s, the table reports the CPU time each proxy process spent per request under wrk
// (utime + stime from /proc): on a noisy shared machine that is steadier than req/s.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, haproxyConf, median, nginxConf as nginxConfIn, rssSampler, spawnTracked, waitForPort, which } from './proxy/peers.js';

// The Node.js that runs the bundled proxy: BENCH_NODE=/path/to/node measures it on another release
// (the image runs Node 24; this machine has Node 20).
const PROXY_NODE = process.env.BENCH_NODE ?? process.execPath;
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_DURATION ?? 4);
const SLOW_CLIENTS = Number(process.env.BENCH_SLOW_CLIENTS ?? 100);
const SLOW_SECONDS = Number(process.env.BENCH_SLOW_SECONDS ?? 3);
const BIG_RESPONSE_BYTES = 10 << 20;
const dir = mkdtempSync(join(tmpdir(), 'sidecarctl-bench-'));
const children = new Set();

const tools = { nginx: which('nginx'), haproxy: which('haproxy'), wrk: which('wrk'), taskset: which('taskset') };
if (!tools.wrk || !tools.nginx) {
  console.error('bench:proxy needs wrk and nginx (apt-get install wrk nginx-light; haproxy optional)');
  process.exit(1);
}
const pinned = tools.taskset && cpus().length >= 2;
const PROXY_CPU = '0';
const LOAD_CPU = '1';

/** Command prefix pinning a process to a CPU when possible. */
function onCpu(cpu, cmd, args) {
  return pinned ? [tools.taskset, ['-c', cpu, cmd, ...args]] : [cmd, args];
}

function start(name, cpu, cmd, args, opts = {}) {
  const [c, a] = onCpu(cpu, cmd, args);
  return spawnTracked(children, name, c, a, opts);
}

function cleanup() {
  for (const child of children) child.kill('SIGKILL');
  if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

function nginxConf(name, port, body) {
  return nginxConfIn(join(dir, name), body.replace('PORT', port));
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat; null if unknown. */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return null;
  }
}

/** Peak VmRSS (MB) of a process, sampled until stop() is called. */
function runLoad(cmd, args) {
  const [c, a] = onCpu(LOAD_CPU, cmd, args);
  return new Promise((resolve, reject) => {
    const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      children.delete(child);
      code === 0 ? resolve(out) : reject(new Error(`${cmd} failed: ${out}`));
    });
  });
}

async function wrk(url, seconds) {
  const out = await runLoad(tools.wrk, ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', url]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out);
  return { rps, errors: errors ? errors[0] : null };
}

async function fixedRate(url) {
  const out = await runLoad(process.execPath, [join(root, 'bench/proxy/fixed-rate.js'), url, String(RATE), String(LATENCY_SECONDS), '32', '1']);
  return JSON.parse(out);
}

/**
 * SLOW_CLIENTS connections each send `GET /big` (a 10 MB answer) and never read: what the proxy
 * buffers for them is what this measures. Returns the peak RSS (MB) of `pid` meanwhile.
 */
async function slowReaders(port, pid) {
  const stopRss = rssSampler(pid);
  const sockets = [];
  for (let i = 0; i < SLOW_CLIENTS; i++) {
    const s = net.connect(port, '127.0.0.1', () => s.write('GET /big HTTP/1.1\r\nHost: bench\r\n\r\n'));
    s.pause();
    s.on('error', () => {});
    sockets.push(s);
  }
  await new Promise((r) => setTimeout(r, SLOW_SECONDS * 1000));
  const peak = stopRss();
  for (const s of sockets) s.destroy();
  await new Promise((r) => setTimeout(r, 500));
  return peak;
}

/**
 * The node flags of Dockerfile.proxy's ENTRYPOINT (["node", ...flags, "/path/proxy-bundle.mjs"]),
 * so that the benchmark runs the proxy exactly as the image does.
 */
function proxyNodeFlags() {
  const line = readFileSync(join(root, 'Dockerfile.proxy'), 'utf8').split('\n').find((l) => l.startsWith('ENTRYPOINT '));
  if (!line) throw new Error('Dockerfile.proxy has no ENTRYPOINT');
  const argv = JSON.parse(line.slice('ENTRYPOINT '.length));
  return argv.slice(1).filter((a) => a.startsWith('--'));
}

/** Starts every target; returns [{ name, port, pid }] (pid null for the backend itself). */
async function startTargets(backendPort) {
  const targets = [{ name: 'direct (no proxy)', port: backendPort, pid: null }];

  {
    const port = await freePort();
    const child = start('nginx', PROXY_CPU, tools.nginx, [
      '-c',
      nginxConf(
        'nginx-proxy',
        port,
        `upstream backend { server 127.0.0.1:${backendPort}; keepalive 128; }
  server { listen 127.0.0.1:PORT; location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } }`,
      ),
    ]);
    await waitForPort(port, child);
    targets.push({ name: 'nginx 1 worker', port, pid: child.pid });
  }

  if (tools.haproxy) {
    const port = await freePort();
    const file = haproxyConf(join(dir, 'haproxy.cfg'), port, backendPort);
    const child = start('haproxy', PROXY_CPU, tools.haproxy, ['-db', '-f', file]);
    await waitForPort(port, child);
    targets.push({ name: 'HAProxy nbthread 1', port, pid: child.pid });
  } else {
    console.error('  haproxy not installed: skipped');
  }

  const extra = (process.env.BENCH_EXTRA_BUNDLES ?? '').split(',').filter(Boolean).map((e) => [e.slice(0, e.lastIndexOf('=')), e.slice(e.lastIndexOf('=') + 1)]);
  const bundle = join(dir, 'proxy-bundle.mjs');
  execFileSync(process.execPath, [join(root, 'scripts/bundle-proxy.mjs'), bundle], { stdio: 'ignore' });
  for (const [name, file] of [...extra, ['sidecarctl proxy (node)', bundle]]) {
    const port = await freePort();
    const config = join(dir, `proxy-${port}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        inbound: { port, address: '127.0.0.1', target: { host: '127.0.0.1', port: backendPort } },
        admin: { port: 0 },
        accessLog: { enabled: true },
      }),
    );
    // Started as Dockerfile.proxy starts it (its ENTRYPOINT's V8 flags), access log on (as
    // deployed) and written to /dev/null.
    const child = start(name, PROXY_CPU, PROXY_NODE, [...proxyNodeFlags(), resolve(file), '--config', config]);
    await waitForPort(port, child);
    targets.push({ name, port, pid: child.pid });
  }
  return targets;
}

/**
 * Every target is measured ROUNDS times, round-robin, and the median is reported: on a shared VM
 * the machine's speed drifts over a run, and interleaving spreads that drift over all targets
 * instead of penalising whichever ran during a slow minute.
 */
async function measureAll(targets) {
  for (const t of targets) {
    t.url = `http://127.0.0.1:${t.port}/`;
    t.rps = [];
    t.latency = [];
    t.rss = 0;
    t.cpuPerRequest = [];
    await wrk(t.url, 2); // warm-up (JIT, connection pools)
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of targets) {
      const stopRss = t.pid ? rssSampler(t.pid) : () => 0;
      const cpuBefore = t.pid ? cpuSeconds(t.pid) : null;
      const { rps, errors } = await wrk(t.url, DURATION);
      const cpuAfter = t.pid ? cpuSeconds(t.pid) : null;
      if (cpuBefore !== null && cpuAfter !== null && rps > 0) t.cpuPerRequest.push(((cpuAfter - cpuBefore) * 1e6) / (rps * DURATION));
      t.rss = Math.max(t.rss, stopRss());
      t.rps.push(rps);
      if (errors) t.errors = errors;
    }
    for (const t of targets) t.latency.push(await fixedRate(t.url));

    console.error(`  round ${round + 1}/${ROUNDS}: ${targets.map((t) => `${t.name} ${Math.round(t.rps.at(-1))} req/s, p99 ${t.latency.at(-1).p99.toFixed(2)} ms`).join('; ')}`);
  }
  // Last: what the slow readers leave behind (glibc keeps freed memory) must not count in the plain rounds.
  for (const t of targets) if (t.pid) t.slowRss = await slowReaders(t.port, t.pid);
  for (const t of targets) {
    t.medianRps = median(t.rps);
    t.medianCpu = t.cpuPerRequest.length ? median(t.cpuPerRequest) : null;
    t.p50 = median(t.latency.map((l) => l.p50));
    t.p99 = median(t.latency.map((l) => l.p99));
    t.latencyErrors = t.latency.reduce((n, l) => n + l.errors, 0);
    t.lateMs = Math.max(...t.latency.map((l) => l.lateMs));
  }
}

async function main() {
  console.error(`bench:proxy in ${dir} (${pinned ? `proxies on CPU ${PROXY_CPU}, backend and load generators on CPU ${LOAD_CPU}` : 'no CPU pinning'})`);
  const backendPort = await freePort();
  writeFileSync(join(dir, 'big'), Buffer.alloc(BIG_RESPONSE_BYTES, 0x61));
  const backend = start('backend', LOAD_CPU, tools.nginx, [
    '-c',
    nginxConf('backend', backendPort, `server { listen 127.0.0.1:PORT; location / { return 200 "hello world\\n"; } location = /big { alias ${dir}/big; } }`),
  ]);
  await waitForPort(backendPort, backend);
  const targets = await startTargets(backendPort);
  await measureAll(targets);

  const direct = targets[0];
  const nginx = targets[1];
  const ours = targets.at(-1);
  const fmt = (n, d = 0) => (n === null || n === undefined || Number.isNaN(n) ? '–' : n.toFixed(d));
  const lines = [
    `| target | req/s, wrk -t1 -c${CONNECTIONS} (median of ${ROUNDS}) | vs nginx | vs direct | p50 @${RATE} rps (ms) | p99 @${RATE} rps (ms) | p99 added vs direct (ms) | peak RSS (MB) | peak RSS, ${SLOW_CLIENTS} slow readers of 10 MB (MB) | CPU µs/request under wrk |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const t of targets) {
    lines.push(
      `| ${t.name} | ${fmt(t.medianRps)}${t.errors ? ` (${t.errors})` : ''} | ${fmt(t.medianRps / nginx.medianRps, 2)}x | ${fmt(t.medianRps / direct.medianRps, 2)}x | ${fmt(t.p50, 3)} | ${fmt(t.p99, 3)} | ${t === direct ? '–' : fmt(t.p99 - direct.p99, 3)} | ${t.pid ? fmt(t.rss, 1) : '–'} | ${t.pid ? fmt(t.slowRss, 1) : '–'} | ${fmt(t.medianCpu, 1)} |`,
    );
  }
  console.log(lines.join('\n'));
  console.log(`\nproxy started as: node ${proxyNodeFlags().join(' ')} proxy-bundle.mjs --config FILE`);
  console.log(
    `\n${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), proxy on node ${execFileSync(PROXY_NODE, ['--version'], { encoding: 'utf8' }).trim()}; ${pinned ? 'proxies pinned to CPU 0, backend + load generators to CPU 1' : 'no pinning'}; ${ROUNDS} interleaved rounds of wrk ${DURATION}s and a fixed ${RATE} rps schedule over 32 keep-alive connections (${LATENCY_SECONDS}s + 1s warm-up); the generator ran up to ${fmt(Math.max(...targets.map((t) => t.lateMs)), 1)} ms behind schedule (a measure of how noisy the machine was).`,
  );
  const errors = targets.filter((t) => t.latencyErrors > 0).map((t) => `${t.name}: ${t.latencyErrors} errors`);
  if (errors.length) console.log(`\nerrors during the fixed-rate runs: ${errors.join(', ')}`);
  console.log(
    `\ngoals: throughput >= 0.6x nginx: ${fmt(ours.medianRps / nginx.medianRps, 2)}x; added p99 <= 1 ms: ${fmt(ours.p99 - direct.p99, 3)} ms; RSS <= 64 MB: ${fmt(ours.rss, 1)} MB; RSS with ${SLOW_CLIENTS} slow readers < 64 MB: ${fmt(ours.slowRss, 1)} MB`,
  );
  for (const t of targets) if (t.pid) process.kill(t.pid, 'SIGKILL');
  backend.kill('SIGKILL');
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

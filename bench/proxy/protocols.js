#!/usr/bin/env node
// gRPC and raw TCP through the bundled proxy against nginx and HAProxy, same run, same machine
// (`npm run bench:proxy` runs it after bench/proxy.js; alone: `node bench/proxy/protocols.js`).
//
// gRPC unary calls/s:
//   - backend: a node http2 server answering every call as a gRPC server does (HEADERS with
//     content-type application/grpc, one length-prefixed message, trailers with grpc-status 0);
//     a grpc-js client checks each target first, so every target really carries gRPC;
//   - targets: the backend directly, nginx (grpc_pass, keepalive upstream), HAProxy (h2 both
//     sides), the bundled proxy (a grpc listener);
//   - load: h2load -t1 -c10 -m10 (10 connections, 10 streams each) posting a 5-byte gRPC frame.
// TCP (the bundled proxy's tcp listener vs HAProxy `mode tcp`):
//   - throughput: 4 connections each reading a stream the backend writes in 64 KiB chunks, MB/s;
//   - connection rate: 8 workers each opening a connection, sending PING, reading PONG, closing.
// Peak RSS of each proxy process under each load. Proxies on CPU 0, backend and load on CPU 1
// (taskset, 2+ cores). BENCH_DURATION seconds per run (default 5), BENCH_ROUNDS (default 3),
// medians of interleaved rounds.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, median, nginxConf, rssSampler, spawnTracked, waitForPort, which } from './peers.js';

// The Node.js that runs the bundled proxy: BENCH_NODE=/path/to/node measures it on another release
// (the image runs Node 24; this machine has Node 20).
const PROXY_NODE = process.env.BENCH_NODE ?? process.execPath;
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'sidecarctl-bench-protocols-'));
const children = new Set();
const tools = { nginx: which('nginx'), haproxy: which('haproxy'), h2load: which('h2load'), taskset: which('taskset') };
const pinned = tools.taskset && cpus().length >= 2;
const PROXY_CPU = '0';
const LOAD_CPU = '1';

process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

function onCpu(cpu, cmd, args) {
  return pinned ? [tools.taskset, ['-c', cpu, cmd, ...args]] : [cmd, args];
}

function start(name, cpu, cmd, args) {
  const [c, a] = onCpu(cpu, cmd, args);
  return spawnTracked(children, name, c, a);
}

/** Runs a load generator on the load CPU; resolves with its stdout. */
function runLoad(cmd, args) {
  const [c, a] = onCpu(LOAD_CPU, cmd, args);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      children.delete(child);
      code === 0 ? resolvePromise(out) : reject(new Error(`${cmd} failed: ${out}${err}`));
    });
  });
}

const fmt = (n, d = 0) => (n === null || n === undefined || Number.isNaN(n) ? '–' : n.toFixed(d));

function proxyNodeFlags() {
  const line = readFileSync(join(root, 'Dockerfile.proxy'), 'utf8').split('\n').find((l) => l.startsWith('ENTRYPOINT '));
  return JSON.parse(line.slice('ENTRYPOINT '.length)).slice(1).filter((a) => a.startsWith('--'));
}

/** The bundled proxy with one inbound listener of `protocol` in front of `backendPort`. */
async function startBundled(bundle, protocol, backendPort) {
  const port = await freePort();
  const config = join(dir, `proxy-${protocol}-${port}.json`); // one file each: the proxy watches it
  writeFileSync(config, JSON.stringify({ inbound: { protocol, port, address: '127.0.0.1', target: { host: '127.0.0.1', port: backendPort } }, admin: { port: 0 }, accessLog: { enabled: true } }));
  const child = start(`sidecarctl ${protocol}`, PROXY_CPU, PROXY_NODE, [...proxyNodeFlags(), bundle, '--config', config]);
  await waitForPort(port, child);
  return { name: 'sidecarctl proxy (node)', port, pid: child.pid };
}

function haproxy(name, body) {
  const file = join(dir, `${name}.cfg`);
  writeFileSync(file, `global\n  nbthread 1\n  maxconn 4000\ndefaults\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n${body}`);
  return start(name, PROXY_CPU, tools.haproxy, ['-db', '-f', file]);
}

// ----------------------------------------------------------------------------------------------
// gRPC
// ----------------------------------------------------------------------------------------------

/** A node http2 server that answers every stream as a gRPC unary call. */
const GRPC_BACKEND = `
const http2 = require('node:http2');
const reply = Buffer.from([0, 0, 0, 0, 5, 104, 101, 108, 108, 111]); // one 5-byte message
const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
server.on('stream', (stream) => {
  stream.on('data', () => {});
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(reply);
  });
});
server.listen(Number(process.argv[1]), '127.0.0.1');
`;

/** One real grpc-js call through a target: the setup carries gRPC, not just HTTP/2. */
async function checkGrpc(port) {
  const grpc = await import('@grpc/grpc-js');
  const same = (b) => b;
  const Client = grpc.makeGenericClientConstructor(
    { unary: { path: '/bench.Echo/Unary', requestStream: false, responseStream: false, requestSerialize: same, requestDeserialize: same, responseSerialize: same, responseDeserialize: same } },
    'Echo',
  );
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    const reply = await new Promise((res, rej) => client.unary(Buffer.from('ping'), { deadline: Date.now() + 5000 }, (err, r) => (err ? rej(err) : res(r))));
    if (reply.toString() !== 'hello') throw new Error(`unexpected reply ${reply}`);
  } finally {
    client.close();
  }
}

async function h2load(port, seconds) {
  const data = join(dir, 'grpc-request.bin');
  writeFileSync(data, Buffer.from([0, 0, 0, 0, 4, 112, 105, 110, 103]));
  const out = await runLoad(tools.h2load, [
    '-t1', '-c10', '-m10', `-D${seconds}`,
    '-H', 'content-type: application/grpc', '-H', 'te: trailers', '-d', data,
    `http://127.0.0.1:${port}/bench.Echo/Unary`,
  ]);
  const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)?.[1] ?? 0);
  const m = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
  return { rps, failed: m ? Number(m[2]) + Number(m[3]) : null };
}

async function grpcBench(bundle) {
  const backendPort = await freePort();
  const backend = start('grpc backend', LOAD_CPU, process.execPath, ['-e', GRPC_BACKEND, String(backendPort)]);
  await waitForPort(backendPort, backend);
  const targets = [{ name: 'direct (no proxy)', port: backendPort, pid: null }];
  {
    const port = await freePort();
    const child = start('nginx grpc', PROXY_CPU, tools.nginx, ['-c', nginxConf(join(dir, 'nginx-grpc'), `upstream g { server 127.0.0.1:${backendPort}; keepalive 64; }
  server { listen 127.0.0.1:${port} http2; http2_max_requests 1000000; location / { grpc_pass grpc://g; } }`)]);
    await waitForPort(port, child);
    targets.push({ name: 'nginx 1 worker (grpc_pass)', port, pid: child.pid });
  }
  if (tools.haproxy) {
    const port = await freePort();
    const child = haproxy('haproxy-grpc', `  mode http\n  http-reuse always\nfrontend front\n  bind 127.0.0.1:${port} proto h2\n  default_backend b\nbackend b\n  server s1 127.0.0.1:${backendPort} proto h2\n`);
    await waitForPort(port, child);
    targets.push({ name: 'HAProxy nbthread 1 (h2 both sides)', port, pid: child.pid });
  }
  targets.push(await startBundled(bundle, 'grpc', backendPort));
  for (const t of targets) {
    await checkGrpc(t.port).catch((err) => {
      throw new Error(`${t.name}: a grpc-js call failed: ${err.message}`);
    });
    t.rps = [];
    t.rss = 0;
    t.failed = 0;
    await h2load(t.port, 2);
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of targets) {
      const stop = t.pid ? rssSampler(t.pid) : () => 0;
      const { rps, failed } = await h2load(t.port, DURATION);
      t.rss = Math.max(t.rss, stop());
      t.rps.push(rps);
      t.failed += failed ?? 0;
    }
    console.error(`  grpc round ${round + 1}/${ROUNDS}: ${targets.map((t) => `${t.name} ${Math.round(t.rps.at(-1))}`).join('; ')}`);
  }
  for (const t of targets) if (t.pid) process.kill(t.pid, 'SIGKILL');
  backend.kill('SIGKILL');
  return targets.map((t) => ({ ...t, median: median(t.rps) }));
}

// ----------------------------------------------------------------------------------------------
// TCP
// ----------------------------------------------------------------------------------------------

/** Port A: writes 64 KiB chunks as fast as each reader takes them; port B: PING -> PONG. */
const TCP_BACKEND = `
const net = require('node:net');
const chunk = Buffer.alloc(64 * 1024, 0x61);
net.createServer((s) => {
  s.on('error', () => {});
  const pump = () => { while (s.write(chunk)); };
  s.on('drain', pump);
  pump();
}).listen(Number(process.argv[1]), '127.0.0.1');
net.createServer((s) => {
  s.on('error', () => {});
  s.on('data', () => s.end('PONG\\n'));
}).listen(Number(process.argv[2]), '127.0.0.1');
`;

/** Reads streams from `port` over `conns` connections for `seconds`; prints MB/s. */
const STREAM_CLIENT = `
const net = require('node:net');
const [port, conns, seconds] = process.argv.slice(1).map(Number);
let bytes = 0;
const sockets = [];
for (let i = 0; i < conns; i++) {
  const s = net.connect(port, '127.0.0.1');
  s.on('data', (c) => (bytes += c.length));
  s.on('error', () => {});
  sockets.push(s);
}
setTimeout(() => { bytes = 0; setTimeout(() => { console.log(JSON.stringify({ mbps: bytes / seconds / 1e6 })); process.exit(0); }, seconds * 1000); }, 1000);
`;

/** `workers` loops of connect, PING, PONG, close for `seconds`; prints connections/s. */
const CONNECT_CLIENT = `
const net = require('node:net');
const [port, workers, seconds] = process.argv.slice(1).map(Number);
let done = 0;
let failed = 0;
const end = Date.now() + seconds * 1000;
function loop() {
  if (Date.now() > end) return;
  const s = net.connect(port, '127.0.0.1', () => s.write('PING\\n'));
  let ok = false;
  s.on('data', () => (ok = true));
  s.on('error', () => {});
  s.on('close', () => { ok ? done++ : failed++; loop(); });
}
for (let i = 0; i < workers; i++) loop();
setTimeout(() => { console.log(JSON.stringify({ rate: done / seconds, failed })); process.exit(0); }, seconds * 1000 + 200);
`;

async function tcpBench(bundle) {
  const streamPort = await freePort();
  const pingPort = await freePort();
  const backend = start('tcp backend', LOAD_CPU, process.execPath, ['-e', TCP_BACKEND, String(streamPort), String(pingPort)]);
  await waitForPort(streamPort, backend);
  await waitForPort(pingPort, backend);
  const pair = async (make) => ({ stream: await make(streamPort), ping: await make(pingPort) });
  const targets = [{ name: 'direct (no proxy)', ...(await pair(async (port) => ({ port, pid: null }))) }];
  if (tools.haproxy) {
    targets.push({
      name: 'HAProxy nbthread 1 (mode tcp)',
      ...(await pair(async (backendPort) => {
        const port = await freePort();
        const child = haproxy(`haproxy-tcp-${backendPort}`, `  mode tcp\nfrontend front\n  bind 127.0.0.1:${port}\n  default_backend b\nbackend b\n  server s1 127.0.0.1:${backendPort}\n`);
        await waitForPort(port, child);
        return { port, pid: child.pid };
      })),
    });
  }
  targets.push({ name: 'sidecarctl proxy (node)', ...(await pair((backendPort) => startBundled(bundle, 'tcp', backendPort))) });
  for (const t of targets) Object.assign(t, { mbps: [], rate: [], streamRss: 0, connectRss: 0, failed: 0 });
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of targets) {
      let stop = t.stream.pid ? rssSampler(t.stream.pid) : () => 0;
      t.mbps.push(JSON.parse(await runLoad(process.execPath, ['-e', STREAM_CLIENT, String(t.stream.port), '4', String(DURATION)])).mbps);
      t.streamRss = Math.max(t.streamRss, stop());
      stop = t.ping.pid ? rssSampler(t.ping.pid) : () => 0;
      const { rate, failed } = JSON.parse(await runLoad(process.execPath, ['-e', CONNECT_CLIENT, String(t.ping.port), '8', String(DURATION)]));
      t.connectRss = Math.max(t.connectRss, stop());
      t.rate.push(rate);
      t.failed += failed;
    }
    console.error(`  tcp round ${round + 1}/${ROUNDS}: ${targets.map((t) => `${t.name} ${fmt(t.mbps.at(-1))} MB/s, ${fmt(t.rate.at(-1))} conn/s`).join('; ')}`);
  }
  backend.kill('SIGKILL');
  return targets.map((t) => ({ ...t, medianMbps: median(t.mbps), medianRate: median(t.rate) }));
}

async function main() {
  if (!tools.nginx || !tools.h2load) throw new Error('needs nginx and h2load (apt-get install nginx-light nghttp2-client; haproxy too)');
  console.error(`bench protocols in ${dir} (${pinned ? 'proxies on CPU 0, backend and load on CPU 1' : 'no CPU pinning'})`);
  const bundle = join(dir, 'proxy-bundle.mjs');
  execFileSync(process.execPath, [join(root, 'scripts/bundle-proxy.mjs'), bundle], { stdio: 'ignore' });

  const grpc = await grpcBench(bundle);
  const nginx = grpc.find((t) => t.name.startsWith('nginx'));
  const ours = grpc.at(-1);
  console.log(`| gRPC unary, h2load -t1 -c10 -m10 (median of ${ROUNDS}) | calls/s | vs nginx | vs direct | failed | peak RSS (MB) |`);
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const t of grpc) {
    console.log(`| ${t.name} | ${fmt(t.median)} | ${fmt(t.median / nginx.median, 2)}x | ${fmt(t.median / grpc[0].median, 2)}x | ${t.failed} | ${t.pid ? fmt(t.rss, 1) : '–'} |`);
  }

  const tcp = await tcpBench(bundle);
  const ha = tcp.find((t) => t.name.startsWith('HAProxy'));
  const oursTcp = tcp.at(-1);
  console.log(`\n| TCP (median of ${ROUNDS}) | MB/s, 4 streams of 64 KiB chunks | vs HAProxy | connections/s, 8 workers | vs HAProxy | failed | peak RSS streaming / connecting (MB) |`);
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const t of tcp) {
    console.log(
      `| ${t.name} | ${fmt(t.medianMbps)} | ${ha ? fmt(t.medianMbps / ha.medianMbps, 2) : '–'}x | ${fmt(t.medianRate)} | ${ha ? fmt(t.medianRate / ha.medianRate, 2) : '–'}x | ${t.failed} | ${t.stream.pid ? `${fmt(t.streamRss, 1)} / ${fmt(t.connectRss, 1)}` : '–'} |`,
    );
  }
  console.log(
    `\ngoals: gRPC >= 0.6x nginx: ${fmt(ours.median / nginx.median, 2)}x; TCP throughput >= 0.8x HAProxy: ${ha ? fmt(oursTcp.medianMbps / ha.medianMbps, 2) : '–'}x; RSS under load <= 64 MB: gRPC ${fmt(ours.rss, 1)} MB, TCP ${fmt(Math.max(oursTcp.streamRss, oursTcp.connectRss), 1)} MB`,
  );
  console.log(`\n${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), proxy on node ${execFileSync(PROXY_NODE, ['--version'], { encoding: 'utf8' }).trim()}; ${ROUNDS} interleaved rounds of ${DURATION} s.`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

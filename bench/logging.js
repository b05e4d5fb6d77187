#!/usr/bin/env node
// Peak memory of the real log shippers on the configs inject writes, against the memory limit
// inject gives their container (`npm run bench:logging`). The agents are not in Debian or npm:
// set SIDECARCTL_FLUENT_BIT and/or SIDECARCTL_FLUENTD to programs built from their sources
// (README, "Logging"); an agent that is not set is skipped, and said so.
//
// For each agent x output (stdout, forward, es, loki):
//   - config: `sidecarctl inject fixtures/web.yaml --logging AGENT --log-output OUTPUT`, its paths
//     moved to a temp dir;
//   - backend on 127.0.0.1: a TCP sink for forward, an HTTP server answering Elasticsearch's
//     _bulk (and its version probe) and Loki's push with 200, stdout into a pipe that is drained;
//   - load: BENCH_RATE lines/s (default 10,000) of ~200-byte JSON lines appended to the app's
//     log file for BENCH_DURATION seconds (default 10), then until the backend has them all or
//     30 s pass;
//   - reported: peak RSS (VmRSS every 100 ms) / the container's memory limit, and lines delivered.
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { freePort, rssSampler } from './proxy/peers.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RATE = Number(process.env.BENCH_RATE ?? 10_000);
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const dir = mkdtempSync(join(tmpdir(), 'sidecarctl-bench-logging-'));
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const AGENTS = [
  { agent: 'fluent-bit', program: process.env.SIDECARCTL_FLUENT_BIT, key: 'fluent-bit.yaml', container: 'sidecarctl-fluent-bit', args: (f) => ['-c', f] },
  { agent: 'fluentd', program: process.env.SIDECARCTL_FLUENTD, key: 'fluent.conf', container: 'sidecarctl-fluentd', args: (f) => ['-c', f, '--no-supervisor'] },
];
const OUTPUTS = (process.env.BENCH_OUTPUTS ?? 'stdout,forward,es,loki').split(',');

function mebibytes(quantity) {
  const m = /^(\d+)(Mi|Gi)$/.exec(quantity);
  return m[2] === 'Gi' ? Number(m[1]) * 1024 : Number(m[1]);
}

/** The config and memory limit inject writes, paths moved into `work`, listening ports onto free ones. */
async function injected(agent, key, container, output, work) {
  const out = execFileSync(process.execPath, [join(root, 'bin/sidecarctl.js'), 'inject', join(root, 'fixtures/web.yaml'), '--proxy', 'none', '--logging', agent, '--log-output', output], { encoding: 'utf8' });
  const objects = parseAllDocuments(out).map((d) => d.toJS());
  const cm = objects.find((o) => o?.kind === 'ConfigMap');
  const pod = objects.find((o) => o?.kind === 'Deployment').spec.template.spec;
  const shipper = [...(pod.initContainers ?? []), ...pod.containers].find((c) => c.name === container);
  let text = cm.data[key].replaceAll('/var/lib/sidecarctl', join(work, 'state')).replaceAll('/var/log/app', join(work, 'logs'));
  for (const port of [2020, 24220]) text = text.replaceAll(`port: ${port}`, `port: ${await freePort()}`).replaceAll(`port ${port}`, `port ${await freePort()}`);
  return { text, limit: mebibytes(shipper.resources.limits.memory) };
}

/** A backend for `kind` on a free port that counts the lines it receives (by their marker). */
async function backend(kind) {
  const port = await freePort();
  let received = 0;
  // Counted across chunk boundaries: the tail of each chunk is kept for the next one.
  const counter = (marker) => {
    let carry = '';
    return (chunk) => {
      const text = carry + chunk.toString('latin1');
      received += text.split(marker).length - 1;
      carry = text.slice(-(marker.length - 1));
    };
  };
  let server;
  if (kind === 'forward') {
    // Forward's records are msgpack: the marker is a msgpack str "seq" (0xa3 s e q).
    server = net.createServer((s) => s.on('data', counter('\xa3seq')));
  } else {
    server = createServer((req, res) => {
      // Loki's push carries each line as a JSON string: its quotes are escaped there.
      req.on('data', counter(req.url.startsWith('/loki') ? '\\"seq\\":' : '"seq":'));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.setHeader('x-elastic-product', 'Elasticsearch');
        if (req.method === 'GET' || req.method === 'HEAD') res.end(JSON.stringify({ version: { number: '8.15.0', build_flavor: 'default' }, tagline: 'You Know, for Search' }));
        else if (req.url.startsWith('/loki')) (res.statusCode = 204), res.end();
        else res.end(JSON.stringify({ took: 1, errors: false, items: [] }));
      });
    });
  }
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return { port, received: () => received, close: () => server.close() };
}

function line(seq) {
  return JSON.stringify({ time: new Date().toISOString(), level: 'info', seq, msg: 'GET /api/v1/items 200', user: 'u-1234', path: '/api/v1/items', latency_ms: 12.5, trace: 'f'.repeat(32) });
}

async function run({ agent, program, key, container, args }, kind) {
  const work = join(dir, `${agent}-${kind}`);
  mkdirSync(join(work, 'state'), { recursive: true });
  mkdirSync(join(work, 'logs'));
  const sink = kind === 'stdout' ? null : await backend(kind);
  const output = kind === 'stdout' ? 'stdout' : `${kind}://127.0.0.1:${sink.port}`;
  const { text, limit } = await injected(agent, key, container, output, work);
  const file = join(work, key);
  writeFileSync(file, text);
  const env = { ...process.env, POD_NAME: 'web-0', POD_NAMESPACE: 'shop', NODE_NAME: 'node-1' };
  const child = spawn(program, args(file), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdoutLines = 0;
  let log = '';
  let carry = '';
  child.stdout.on('data', (c) => {
    const text = carry + c.toString('latin1');
    stdoutLines += text.split('"seq":').length - 1;
    carry = text.slice(-5);
  });
  child.stderr.on('data', (c) => (log = (log + c).slice(-4000)));
  await new Promise((r) => setTimeout(r, agent === 'fluentd' ? 6000 : 2000)); // started
  if (/Unknown output plugin|tried to instance a plugin name that doesn't exist/.test(log) || child.exitCode !== null) {
    child.kill('SIGKILL');
    sink?.close();
    return { skipped: `${agent} has no ${kind} output here (${log.trim().split('\n').at(-1)})` };
  }
  const peak = rssSampler(child.pid);
  const total = RATE * DURATION;
  const logFile = join(work, 'logs', 'app.log');
  const start = Date.now();
  for (let sent = 0; sent < total; ) {
    const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * RATE));
    let batch = '';
    for (; sent < due; sent++) batch += `${line(sent)}\n`;
    if (batch) appendFileSync(logFile, batch);
    await new Promise((r) => setTimeout(r, 20));
  }
  const delivered = () => (sink ? sink.received() : stdoutLines);
  for (const end = Date.now() + 30_000; delivered() < total && Date.now() < end; ) await new Promise((r) => setTimeout(r, 200));
  const rss = peak();
  child.kill('SIGKILL');
  sink?.close();
  return { peak: rss, limit, delivered: delivered(), total };
}

for (const a of AGENTS) {
  if (!a.program) {
    console.log(`${a.agent}: skipped (set ${a.agent === 'fluentd' ? 'SIDECARCTL_FLUENTD' : 'SIDECARCTL_FLUENT_BIT'} to the program)`);
    continue;
  }
  for (const kind of OUTPUTS) {
    const r = await run(a, kind);
    if (r.skipped) console.log(`${a.agent} -> ${kind}: skipped: ${r.skipped}`);
    else console.log(`${a.agent} -> ${kind}: peak RSS ${r.peak.toFixed(1)} MiB = ${(r.peak / r.limit).toFixed(2)}x its ${r.limit}Mi limit; ${r.delivered}/${r.total} lines delivered (${RATE} lines/s for ${DURATION} s)`);
  }
}

#!/usr/bin/env node
// Differential request-smuggling report: the corpus of test/proxy/helpers/smuggling-corpus.ts
// sent through the bundled proxy, nginx and HAProxy, each in front of its own recording backend
// (a raw TCP server that reads what it gets with a strict HTTP/1.1 framing reader).
//   node bench/proxy/differential.js
//
// For every case: what the front answered (final status codes, `closed` or `no answer`) and what
// its backend saw (complete requests, `+N incomplete` for requests left dangling, `+garbage` for
// bytes a strict server cannot read). A case "matches" when the backend saw exactly the requests the
// front answered 2xx for, properly framed, and nothing dangling (the differential judgement of
// test/proxy/differential.test.ts). Then the `Connection: <name>` loop: for every header name, a
// POST with a Content-Length (and one with a chunked) body and `Connection: <name>`, which must
// reach the backend as exactly one request with a Host header and its exact body.
//
// A report, not a test: it exits 0 whatever it finds. nginx or HAProxy are skipped when not
// installed. BENCH_KEEP=1 keeps the temp directory (configs, error logs).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { freePort, haproxyConf, nginxConf, spawnTracked, waitForPort, which } from './peers.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dir = mkdtempSync(join(tmpdir(), 'sidecarctl-differential-'));
const children = new Set();

function cleanup() {
  for (const child of children) child.kill('SIGKILL');
  if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function start(name, cmd, args) {
  return spawnTracked(children, name, cmd, args);
}

/** The corpus and its helpers, compiled from the TypeScript the tests use (one corpus for both). */
async function loadCorpus() {
  const outfile = join(dir, 'smuggling-corpus.mjs');
  await build({
    entryPoints: [join(root, 'test/proxy/helpers/smuggling-corpus.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
  });
  return import(pathToFileURL(outfile).href);
}

// ---------------------------------------------------------------------------------------------
// Fronts
// ---------------------------------------------------------------------------------------------

async function startSidecarctl(backendPort) {
  const bundle = join(dir, 'proxy-bundle.mjs');
  execFileSync(process.execPath, [join(root, 'scripts/bundle-proxy.mjs'), bundle], { stdio: 'ignore' });
  const port = await freePort();
  const config = join(dir, 'proxy.json');
  writeFileSync(
    config,
    JSON.stringify({
      inbound: { port, address: '127.0.0.1', target: { host: '127.0.0.1', port: backendPort } },
      admin: { port: 0 },
      accessLog: { enabled: false },
      drainTimeoutMs: 200,
    }),
  );
  const child = start('sidecarctl proxy', process.execPath, [bundle, '--config', config]);
  await waitForPort(port, child);
  return { port, child };
}

async function startNginx(bin, backendPort) {
  const port = await freePort();
  const prefix = join(dir, 'nginx');
  const file = nginxConf(
    prefix,
    `upstream backend { server 127.0.0.1:${backendPort}; keepalive 16; }
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }`,
    { errorLog: 'info', connections: 1024 },
  );
  const child = start('nginx', bin, ['-p', prefix, '-c', file]);
  await waitForPort(port, child);
  return { port, child };
}

async function startHaproxy(bin, backendPort) {
  const port = await freePort();
  const file = haproxyConf(join(dir, 'haproxy.cfg'), port, backendPort, { maxconn: 1000, serverMaxconn: 1000 });
  const child = start('haproxy', bin, ['-db', '-f', file]);
  await waitForPort(port, child);
  return { port, child };
}

// ---------------------------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------------------------

/**
 * Drops the backend's connections until the front stops opening new ones (a request stuck on a
 * poisoned connection may be retried by the front once that connection is gone), so that nothing
 * of one case reaches the backend during the next.
 */
async function quiesce(backend) {
  for (let i = 0; i < 10; i++) {
    backend.reset();
    await sleep(40);
    if (backend.connections.length === 0) return;
  }
}

/** Every case through one front, one after the other, on a quiet backend each time. */
async function runFront(lib, front, backend) {
  const results = [];
  for (const c of lib.corpus) {
    await quiesce(backend);
    const exchanges = [await lib.sendRaw(front.port, c.bytes)];
    if (c.followUp !== undefined) {
      await sleep(50);
      exchanges.push(await lib.sendRaw(front.port, c.followUp));
    }
    await sleep(40);
    const view = lib.backendView(backend);
    const { expectForwarded, ...differentialOnly } = c;
    const verdict = lib.judge(differentialOnly, exchanges, view);
    const wellFormed = lib.judge(c, exchanges, view);
    results.push({ name: c.name, verdict, wellFormedOk: expectForwarded === undefined || wellFormed.ok });
  }
  let loopOk = 0;
  const loopFailures = [];
  for (const name of lib.HEADER_NAMES) {
    for (const framing of ['content-length', 'chunked']) {
      await quiesce(backend);
      const body = `name=${encodeURIComponent(name)}&pad=${'x'.repeat(17)}`;
      const framed = framing === 'content-length' ? `Content-Length: ${body.length}` : 'Transfer-Encoding: chunked';
      const encoded = framing === 'content-length' ? body : `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
      const e = await lib.sendRaw(front.port, `POST /echo HTTP/1.1\r\nHost: h.example\r\n${framed}\r\nConnection: ${name}\r\n\r\n${encoded}`, { responses: 1, idleMs: 400 });
      await sleep(20);
      const view = lib.backendView(backend);
      const q = view.requests[0];
      const ok =
        e.statuses.filter((s) => s >= 200).join() === '200' &&
        view.errors.length === 0 &&
        view.partials.length + view.partialHeads === 0 &&
        view.requests.length === 1 &&
        Boolean(lib.header(q, 'host')) &&
        q.framing !== 'none' &&
        q.body.toString('latin1') === body;
      if (ok) loopOk++;
      else loopFailures.push(`${framing}:${name}`);
    }
  }
  return { results, loopOk, loopTotal: lib.HEADER_NAMES.length * 2, loopFailures };
}

async function main() {
  const lib = await loadCorpus();
  const tools = { nginx: which('nginx'), haproxy: which('haproxy') };
  const fronts = [{ name: 'sidecarctl proxy', start: (p) => startSidecarctl(p) }];
  if (tools.nginx) fronts.push({ name: 'nginx', start: (p) => startNginx(tools.nginx, p) });
  else console.error('nginx not installed: skipped');
  if (tools.haproxy) fronts.push({ name: 'HAProxy', start: (p) => startHaproxy(tools.haproxy, p) });
  else console.error('haproxy not installed: skipped');

  console.error(`differential: ${lib.corpus.length} cases, ${lib.HEADER_NAMES.length} header names, through ${fronts.map((f) => f.name).join(', ')} (in ${dir})`);
  const runs = await Promise.all(
    fronts.map(async (f) => {
      const backend = await lib.startRecordingBackend();
      const front = await f.start(backend.port);
      try {
        return { name: f.name, ...(await runFront(lib, front, backend)) };
      } finally {
        front.child.kill('SIGKILL');
        await backend.close();
      }
    }),
  );

  const cell = (s) => String(s).replace(/\|/g, '\\|');
  const lines = [
    `| case | ${runs.map((r) => `${r.name} answered | backend saw`).join(' | ')} |`,
    `|---|${runs.map(() => '---|---:').join('|')}|`,
  ];
  lib.corpus.forEach((c, i) => {
    const cells = runs.map((r) => {
      const { verdict, wellFormedOk } = r.results[i];
      const mark = verdict.ok ? (wellFormedOk ? '' : ' (refused a well-formed request)') : ' ✗';
      return `${cell(verdict.answered)} | ${verdict.backend}${mark}`;
    });
    lines.push(`| ${cell(c.name)} | ${cells.join(' | ')} |`);
  });
  console.log(lines.join('\n'));
  console.log('');
  for (const r of runs) {
    const bad = r.results.filter((x) => !x.verdict.ok);
    if (bad.length) {
      console.log(`${r.name} mismatches:`);
      for (const b of bad) console.log(`  - ${b.name}: ${b.verdict.reasons.join('; ')}`);
    }
    const refused = r.results.filter((x) => !x.wellFormedOk).map((x) => x.name);
    if (refused.length) console.log(`${r.name} did not forward well-formed: ${refused.join(', ')}`);
    if (r.loopFailures.length) console.log(`${r.name} Connection:<name> failures: ${r.loopFailures.join(', ')}`);
  }
  console.log('');
  console.log(
    `summary: backend saw exactly what the front parsed in ${runs.map((r) => `${r.name} ${r.results.filter((x) => x.verdict.ok).length}/${r.results.length}`).join(', ')}` +
      `; Connection:<name> loop intact in ${runs.map((r) => `${r.name} ${r.loopOk}/${r.loopTotal}`).join(', ')}`,
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

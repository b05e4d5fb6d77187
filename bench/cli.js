#!/usr/bin/env node
// Benchmark of the CLI at scale (`npm run bench`; build first: `npm run build`).
//
// Every number is set against a floor measured in the same run, on the same machine:
//   - inject and lint of a generated stream of 1,000 workloads (bench/cli/generate.js: every
//     workload kind, Services, ConfigMaps, comments) against the yaml library's own parse and
//     stringify of the same stream (bench/cli/floor.js);
//       - as real processes: `node bin/sidecarctl.js inject FILE > /dev/null` vs `node floor.js FILE`;
//       - in process (no startup, warm JIT): runInjection vs parseAllDocuments + toString;
//     lint reads the injected stream (what a pre-commit hook sees; exit 1 with findings is fine),
//     against parse + stringify of that injected stream;
//   - cold start: `sidecarctl --version` and inject of one small file against bare `node -e 0`.
// Cases run in interleaved rounds and medians are reported, so a busy moment on a shared machine
// hits all cases alike.
//
// Goals: inject <= 2x the floor (multi-port workloads included), lint <= 2.5x the floor, cold start (--version) <= 2.5x bare node.
//
// Environment: BENCH_WORKLOADS (default 1000), BENCH_ROUNDS (process rounds, default 5),
// BENCH_CALLS (in-process rounds, default 5), BENCH_KEEP=1 keeps the temp directory.
import { existsSync, mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateStream } from './cli/generate.js';
import { parseAndStringify } from './cli/floor.js';
import { interleaved, median, timeCall, timeProcess } from './cli/measure.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORKLOADS = Number(process.env.BENCH_WORKLOADS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CALLS = Number(process.env.BENCH_CALLS ?? 5);
const BIN = join(root, 'bin/sidecarctl.js');
const FLOOR = join(root, 'bench/cli/floor.js');
const GOALS = { inject: 2, lint: 2.5, coldStart: 2.5 };

if (!existsSync(join(root, 'dist/cli/main.js'))) {
  console.error('bench: dist/ is missing; run `npm run build` first');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'sidecarctl-bench-cli-'));
const big = join(dir, 'workloads.yaml');
const injected = join(dir, 'workloads.injected.yaml');
const small = join(dir, 'web.yaml');
const stream = generateStream(WORKLOADS);
writeFileSync(big, stream.text);
copyFileSync(join(root, 'fixtures/web.yaml'), small);
console.error(
  `bench: ${WORKLOADS} workloads, ${stream.services} Services, ${stream.configMaps} ConfigMaps, ${stream.documents} documents, ` +
    `${(stream.text.length / 1024).toFixed(0)} KiB; ${ROUNDS} process rounds, ${CALLS} in-process rounds; ${dir}`,
);

const node = process.execPath;
// One inject run up front: it must succeed, and its output is lint's input.
timeProcess(node, [BIN, 'inject', big], { stdoutPath: injected });
const lintAvailable = timeProcess(node, [BIN, 'lint', '--help'], { ok: [0, 1, 2] }).status === 0;

// --- Real processes -------------------------------------------------------------------------
const processCases = [
  { name: 'floor', args: [FLOOR, big] },
  // lint reads the injected stream (ten times the text: an Envoy config per workload), so its floor
  // is the yaml library's parse + stringify of that same stream.
  ...(lintAvailable ? [{ name: 'floorInjected', args: [FLOOR, injected] }] : []),
  { name: 'inject', args: [BIN, 'inject', big] },
  ...(lintAvailable ? [{ name: 'lint', args: [BIN, 'lint', injected], ok: [0, 1] }] : []),
  { name: 'node', args: ['-e', '0'] },
  { name: 'version', args: [BIN, '--version'] },
  { name: 'injectSmall', args: [BIN, 'inject', small] },
];
const proc = interleaved(processCases, ROUNDS, (c) => timeProcess(node, c.args, { ok: c.ok ?? [0] }).ms);

// --- In process -----------------------------------------------------------------------------
const { readFileSync } = await import('node:fs');
const { parseSource } = await import(pathToFileURL(join(root, 'dist/manifest/source.js')).href);
const { runInjection } = await import(pathToFileURL(join(root, 'dist/inject/run.js')).href);
const text = readFileSync(big, 'utf8');
const injectInProcess = () => runInjection([parseSource(big, text)], { mode: 'inject', profile: [], flags: [] });
// Warm up both once (JIT, template compilation), then interleave.
parseAndStringify(text);
injectInProcess();
const calls = interleaved(
  [
    { name: 'floor', fn: () => parseAndStringify(text) },
    { name: 'inject', fn: injectInProcess },
  ],
  CALLS,
  (c) => timeCall(c.fn),
);

// --- Report ---------------------------------------------------------------------------------
const ms = (v) => (v === undefined ? 'n/a' : `${v.toFixed(0)} ms`);
const ratio = (a, b) => (a === undefined || b === undefined ? undefined : a / b);
const rows = [];
function row(what, time, floorName, floorTime, goal) {
  const r = ratio(time, floorTime);
  const verdict = r === undefined ? '' : r <= goal ? 'ok' : 'OVER';
  rows.push([what, ms(time), floorName, ms(floorTime), r === undefined ? 'n/a' : `${r.toFixed(2)}x`, `<= ${goal}x`, verdict]);
}
const p = (name) => proc.get(name)?.median;
const c = (name) => calls.get(name)?.median;
row(`inject ${WORKLOADS} workloads (process)`, p('inject'), 'yaml parse+stringify (process)', p('floor'), GOALS.inject);
row(`lint ${WORKLOADS} injected workloads (process)`, p('lint'), 'yaml parse+stringify of it (process)', p('floorInjected'), GOALS.lint);
row(`inject ${WORKLOADS} workloads (in process)`, c('inject'), 'yaml parse+stringify (in process)', c('floor'), GOALS.inject);
row('sidecarctl --version', p('version'), 'node -e 0', p('node'), GOALS.coldStart);
row('sidecarctl inject web.yaml', p('injectSmall'), 'node -e 0', p('node'), GOALS.coldStart);

const header = ['case', 'median', 'floor', 'floor median', 'ratio', 'goal', ''];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) => `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
if (!lintAvailable) console.log('\nlint: n/a (`sidecarctl lint` is not in this build)');
console.log(`\nruns (ms): ${[...proc].map(([name, { runs }]) => `${name} ${runs.map((v) => v.toFixed(0)).join('/')}`).join('; ')}`);
console.log(`in process (ms): ${[...calls].map(([name, { runs }]) => `${name} ${runs.map((v) => v.toFixed(0)).join('/')}`).join('; ')}`);
console.log(`median of the in-process floor per workload: ${(median(calls.get('floor').runs) / WORKLOADS).toFixed(2)} ms`);

if (process.env.BENCH_KEEP) console.error(`bench: kept ${dir}`);
else rmSync(dir, { recursive: true, force: true });

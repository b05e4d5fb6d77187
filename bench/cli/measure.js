// Timing helpers for the CLI benchmark: real child processes and in-process calls, medians of rounds.
import { spawnSync } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Run a command once with stdout to `stdoutPath` (default /dev/null), stdin closed; returns the wall
 * time in ms and the exit status. A process that is killed or that exits with a status not in `ok`
 * throws: a benchmark of a failing command measures nothing.
 */
export function timeProcess(cmd, args, { ok = [0], stdoutPath = '/dev/null', cwd } = {}) {
  const out = openSync(stdoutPath, 'w');
  try {
    const start = process.hrtime.bigint();
    const result = spawnSync(cmd, args, { stdio: ['ignore', out, 'pipe'], cwd, maxBuffer: 256 * 1024 * 1024 });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (result.error) throw result.error;
    if (!ok.includes(result.status)) {
      const stderr = String(result.stderr ?? '').slice(-2000);
      throw new Error(`${cmd} ${args.join(' ')} exited ${result.status ?? result.signal}\n${stderr}`);
    }
    return { ms, status: result.status, stderr: String(result.stderr ?? '') };
  } finally {
    closeSync(out);
  }
}

/** Wall time of one synchronous call, in ms. */
export function timeCall(fn) {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * Measure cases in interleaved rounds (one run of each case per round), so that a slow moment on a
 * shared machine hits every case alike; returns the median per case.
 */
export function interleaved(cases, rounds, run) {
  const times = new Map(cases.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) times.get(c.name).push(run(c));
  }
  return new Map([...times].map(([name, list]) => [name, { median: median(list), runs: list }]));
}

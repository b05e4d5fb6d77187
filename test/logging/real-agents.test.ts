/**
 * The real agents on the configs inject writes, when the programs are here:
 *   SIDECARCTL_FLUENT_BIT=/path/to/fluent-bit  SIDECARCTL_FLUENTD=/path/to/fluentd  npm test
 * Neither is in Debian or npm, so they are built from their public sources outside this
 * repository (README, "Logging"); without them these tests are skipped, and their names say so.
 *
 * - every agent x output x proxy config passes the agent's own --dry-run with the container's
 *   environment set, with no [error] and no [warn];
 * - end to end on 127.0.0.1: a log file, the agent as inject configured it, and a real Fluentd as
 *   the Forward receiver; every line arrives once, and a line's own time is its event time; stack
 *   traces with --log-multiline; rotation, a SIGTERM restart and a 2 MB line.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SettingsLayer } from '../../src/settings/resolve.js';
import { inject, load, objectsOfText, ROOT } from '../helpers/corpus.js';
import { unusedPort, waitFor } from '../proxy/helpers/harness.js';

const FLUENT_BIT = process.env.SIDECARCTL_FLUENT_BIT;
const FLUENTD = process.env.SIDECARCTL_FLUENTD;
const WEB = join(ROOT, 'fixtures/web.yaml');
// The forward receiver's name resolves here (in the cluster a Service name does); an unresolvable one is tested below.
const OUTPUTS = ['stdout', 'forward://localhost:24224', 'es://elasticsearch.logging:9200', 'loki://loki.monitoring:3100'];
const ENV = { ...process.env, POD_NAME: 'web-0', POD_NAMESPACE: 'shop', NODE_NAME: 'node-1' };
const AGENTS = [
  { agent: 'fluent-bit', program: FLUENT_BIT, key: 'fluent-bit.yaml', env: 'SIDECARCTL_FLUENT_BIT' },
  { agent: 'fluentd', program: FLUENTD, key: 'fluent.conf', env: 'SIDECARCTL_FLUENTD' },
] as const;

const layer = (...pairs: [string, string][]): SettingsLayer => pairs.map(([key, value]) => ({ key, value, flag: `--${key}` }));

/** The agent's config from inject's ConfigMap, with the pod's paths moved into `dir` and its listening ports onto free ones. */
async function configFor(key: string, flags: SettingsLayer, dir: string, keepPorts: number[] = []): Promise<string> {
  const out = inject(load(WEB), flags).files[0]!.text;
  const cm = objectsOfText(out).find((o) => o.kind === 'ConfigMap')!;
  let text = (cm.data as Record<string, string>)[key]!;
  text = text.replaceAll('/var/lib/sidecarctl', join(dir, 'state')).replaceAll('/var/log/app', join(dir, 'logs'));
  const ports = new Set([...text.matchAll(/(?:^|\s)(?:port|http_port):? "?(\d{4,5})"?$/gm)].map((m) => Number(m[1])).filter((p) => !keepPorts.includes(p)));
  for (const port of ports) text = text.replace(new RegExp(`((?:port|http_port):? "?)${port}("?)$`, 'gm'), `$1${await unusedPort()}$2`);
  return text;
}

function tempDirs(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sidecarctl-agent-'));
  mkdirSync(join(dir, 'state'));
  mkdirSync(join(dir, 'logs'));
  return dir;
}

function dryRun(program: string, file: string): { status: number | null; output: string } {
  const r = spawnSync(program, ['--dry-run', '-c', file], { env: ENV, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const running: ChildProcess[] = [];
afterAll(() => {
  for (const p of running) p.kill('SIGKILL');
});

function start(program: string, args: string[]): { lines: string[]; proc: ChildProcess } {
  const proc = spawn(program, args, { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(proc);
  const lines: string[] = [];
  const take = (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean));
  proc.stdout!.on('data', take);
  proc.stderr!.on('data', take);
  return { lines, proc };
}

for (const { agent, program, key, env } of AGENTS) {
  describe.skipIf(!program)(`${agent}: the real program's --dry-run on every config${program ? '' : ` (skipped: set ${env} to the program)`}`, () => {
    for (const output of OUTPUTS) {
      for (const proxy of ['envoy', 'bundled', 'none']) {
        it(`${agent} -> ${output}, proxy ${proxy}: exit 0, no [error], no [warn]`, async (ctx) => {
          const dir = tempDirs();
          const file = join(dir, key);
          writeFileSync(file, await configFor(key, layer(['logging', agent], ['log-output', output], ['proxy', proxy]), dir));
          const { status, output: printed } = dryRun(program!, file);
          // A plugin this local build lacks is said, not passed (the image's own plugins are checked by lint).
          const missing = /Unknown output plugin '([^']+)'|section '([^']+)' tried to instance a plugin name that doesn't exist/.exec(printed);
          if (missing) ctx.skip(`this ${agent} build has no ${missing[1] ?? missing[2]} output plugin`);
          expect(printed).not.toMatch(/\[\s*(error|warn)\]/);
          expect(status, printed).toBe(0);
        }, 90_000);
      }
    }
  });
}

describe.skipIf(!FLUENTD)(`fluentd: a forward receiver whose name does not resolve yet${FLUENTD ? '' : ' (skipped: set SIDECARCTL_FLUENTD)'}`, () => {
  it('starts (exit 0 on --dry-run) with one warning that it will retry, instead of crash-looping the pod', async () => {
    const dir = tempDirs();
    const file = join(dir, 'fluent.conf');
    writeFileSync(file, await configFor('fluent.conf', layer(['logging', 'fluentd'], ['log-output', 'forward://not-yet.invalid:24224'], ['proxy', 'none']), dir));
    const { status, output } = dryRun(FLUENTD!, file);
    expect(status, output).toBe(0);
    const warnings = output.split('\n').filter((l) => /\[(warn|error)\]/.test(l));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/\[warn\]: failed to resolve node name when configured server="not-yet.invalid"/);
  }, 90_000);
});

/** A real Fluentd receiving Forward on `port`, printing "TIME TAG: JSON" per event. */
async function receiver(dir: string): Promise<{ port: number; events: () => { time: string; record: Record<string, unknown> }[] }> {
  const port = await unusedPort();
  const conf = join(dir, 'receiver.conf');
  writeFileSync(conf, `<source>\n  @type forward\n  bind 127.0.0.1\n  port ${port}\n</source>\n<match **>\n  @type stdout\n</match>\n`);
  const { lines } = start(FLUENTD!, ['-c', conf, '--no-supervisor']);
  await waitFor(() => lines.some((l) => l.includes('fluentd worker is now running')) || undefined, 60_000, 'the receiver Fluentd runs');
  const events = () =>
    lines.flatMap((l) => {
      const m = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ [+-]\d{4}) (\S+): (\{.*\})$/.exec(l);
      return m && !m[2]!.startsWith('fluent.') ? [{ time: m[1]!, record: JSON.parse(m[3]!) as Record<string, unknown> }] : [];
    });
  return { port, events };
}

const LINES = [
  '{"time":"2026-03-04T05:06:07.123Z","level":"info","msg":"iso time"}',
  '{"time":1700000000123,"msg":"pino epoch milliseconds"}',
  '{"time":"not a time","msg":"bad time"}',
  '{"msg":"no time"}',
  'a plain line',
];
/** Times no event time can be made of: each such line keeps its read time, and none is lost. */
// (Not an integer beyond 64 bits: Fluentd cannot buffer a record holding one, whatever its field; README.)
const ODD_TIMES = ['1e300', '1772600767123456', '-5', 'null', 'true', '[1]', '{"a":1}', '""', '"9999-12-31T23:59:59Z"', '"0001-01-01T00:00:00Z"', '"1969-12-31T23:59:59Z"', '"2026-13-45T99:99:99Z"', `"2026-03-04T05:06:07.${'1'.repeat(5000)}Z"`];
const ODD_LINES = ODD_TIMES.map((t, i) => `{"msg":"odd ${i}","time":${t}}`);

describe.skipIf(!FLUENTD)(`end to end into a real Fluentd receiver${FLUENTD ? '' : ' (skipped: set SIDECARCTL_FLUENTD)'}`, () => {
  for (const { agent, program, key, env } of AGENTS) {
    it.skipIf(!program)(`${agent} tails the app's file and forwards every line once, its own time as the event time${program ? '' : ` (skipped: set ${env})`}`, async () => {
      const dir = tempDirs();
      const rx = await receiver(dir);
      const file = join(dir, key);
      writeFileSync(file, await configFor(key, layer(['logging', agent], ['log-output', `forward://127.0.0.1:${rx.port}`], ['proxy', 'none']), dir, [rx.port]));
      const before = Date.now();
      const { lines: agentLog } = start(program!, agent === 'fluentd' ? ['-c', file, '--no-supervisor'] : ['-c', file]);
      appendFileSync(join(dir, 'logs', 'app.log'), `${[...LINES, ...ODD_LINES].join('\n')}\n`);
      const all = LINES.length + ODD_LINES.length;
      await waitFor(() => rx.events().length >= all || undefined, 60_000, `${all} events at the receiver`);
      await new Promise((r) => setTimeout(r, 2000)); // nothing more (no duplicates) arrives
      const events = rx.events();
      expect(events).toHaveLength(all);
      const byMsg = new Map(events.map((e) => [String(e.record.msg ?? e.record.log), e]));
      expect(byMsg.get('iso time')!.time).toMatch(/^2026-03-04 05:06:07\.123/);
      expect(byMsg.get('iso time')!.record.time).toBe('2026-03-04T05:06:07.123Z');
      const readTime = (e: { time: string }) => Date.parse(e.time.replace(' ', 'T').replace(/ ([+-]\d\d)(\d\d)$/, '$1:$2'));
      for (const msg of ['bad time', 'no time', 'a plain line', ...ODD_TIMES.map((_, i) => `odd ${i}`)]) expect(readTime(byMsg.get(msg)!), msg).toBeGreaterThanOrEqual(before - 1000);
      expect(agentLog.filter((l) => /\[\s*(error|warn)\]/.test(l) && !/(service will shutdown|failed to flush)/.test(l))).toEqual([]);
      if (agent === 'fluentd') expect(byMsg.get('pino epoch milliseconds')!.time).toMatch(/^2023-11-14 22:13:20\.12/);
      expect(byMsg.get('a plain line')!.record.log).toBe('a plain line');
      expect(byMsg.get('iso time')!.record.kubernetes).toMatchObject({ pod_name: 'web-0', namespace_name: 'shop' });
    }, 120_000);
  }
});

const TRACES: Record<'java' | 'go' | 'python', string[]> = {
  java: [
    'Exception in thread "main" java.lang.IllegalStateException: boom',
    '\tat com.example.App.run(App.java:12)',
    '\tat com.example.App.main(App.java:5)',
    'Caused by: java.io.IOException: disk',
    '\tat com.example.Disk.read(Disk.java:3)',
    '\t... 2 more',
  ],
  go: ['panic: boom', '', 'goroutine 1 [running]:', 'main.main()', '\t/app/main.go:5 +0x25'],
  python: [
    'Traceback (most recent call last):',
    '  File "/app/main.py", line 3, in <module>',
    '    main()',
    '  File "/app/main.py", line 2, in main',
    '    raise ValueError("boom")',
    'ValueError: boom',
  ],
};

describe.skipIf(!FLUENTD)(`--log-multiline with the real agents${FLUENTD ? '' : ' (skipped: set SIDECARCTL_FLUENTD)'}`, () => {
  for (const { agent, program, key, env } of AGENTS) {
    for (const language of ['java', 'go', 'python'] as const) {
      it.skipIf(!program)(`${agent}, ${language}: a stack trace arrives as one record between the lines around it${program ? '' : ` (skipped: set ${env})`}`, async () => {
        const dir = tempDirs();
        const rx = await receiver(dir);
        const file = join(dir, key);
        const flags = layer(['logging', agent], ['log-output', `forward://127.0.0.1:${rx.port}`], ['proxy', 'none'], ['log-multiline', language]);
        writeFileSync(file, await configFor(key, flags, dir, [rx.port]));
        start(program!, agent === 'fluentd' ? ['-c', file, '--no-supervisor'] : ['-c', file]);
        appendFileSync(join(dir, 'logs', 'app.log'), `${['INFO before', ...TRACES[language], 'INFO after', '{"msg":"json after"}'].join('\n')}\n`);
        await waitFor(() => rx.events().length >= 4 || undefined, 60_000, '4 events at the receiver');
        await new Promise((r) => setTimeout(r, 2000));
        const logs = rx.events().map((e) => String(e.record.log ?? e.record.msg).replace(/\n$/, ''));
        expect(logs).toEqual(['INFO before', TRACES[language].join('\n'), 'INFO after', 'json after']);
      }, 120_000);
    }
  }
});

describe.skipIf(!FLUENTD)(`rotation, restart and a very long line with the real agents${FLUENTD ? '' : ' (skipped: set SIDECARCTL_FLUENTD)'}`, () => {
  for (const { agent, program, key, env } of AGENTS) {
    it.skipIf(!program)(`${agent}: follows a rename rotation, resumes after a SIGTERM restart without loss or repeat, skips a 2 MB line and goes on${program ? '' : ` (skipped: set ${env})`}`, async () => {
      const dir = tempDirs();
      const rx = await receiver(dir);
      const file = join(dir, key);
      writeFileSync(file, await configFor(key, layer(['logging', agent], ['log-output', `forward://127.0.0.1:${rx.port}`], ['proxy', 'none']), dir, [rx.port]));
      const args = agent === 'fluentd' ? ['-c', file, '--no-supervisor'] : ['-c', file];
      const log = join(dir, 'logs', 'app.log');
      const write = (path: string, ...seqs: (number | string)[]) => appendFileSync(path, seqs.map((s) => `${JSON.stringify({ seq: s })}\n`).join(''));
      const seqs = () => rx.events().map((e) => e.record.seq);
      const arrived = (n: number, what: string) => waitFor(() => seqs().length >= n || undefined, 60_000, `${what}: ${n} events (have ${JSON.stringify(seqs())})`);

      let shipper = start(program!, args);
      write(log, 1, 2, 3);
      await arrived(3, 'first lines');
      // logrotate's default: rename, then a new file; the app writes once more to the old one.
      renameSync(log, `${log}.1`);
      write(`${log}.1`, 'after rename');
      write(log, 4, 5, 6);
      await arrived(7, 'across the rotation');
      // A restart: SIGTERM (what the kubelet sends), lines written while it is down, then again.
      shipper.proc.kill('SIGTERM');
      await new Promise((r) => shipper.proc.once('exit', r));
      write(log, 7, 8, 9);
      shipper = start(program!, args);
      await arrived(10, 'after the restart');
      appendFileSync(log, `${JSON.stringify({ seq: 'long', pad: 'x'.repeat(2 * 1024 * 1024) })}\n`);
      write(log, 10);
      await arrived(11, 'after the long line');
      await new Promise((r) => setTimeout(r, 3000)); // nothing more arrives: no repeats
      expect(seqs().sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 'after rename'].sort());
      expect(shipper.proc.exitCode).toBeNull(); // still running
    }, 180_000);
  }
});

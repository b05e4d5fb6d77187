/** The progress bar: when it shows (a pure decision), what it draws, and the real CLI on a pty and on a pipe. */
import { execa } from 'execa';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProgress, formatBar, PROGRESS_MIN_FILES, shouldShowProgress } from '../../src/cli/progress.js';
import { ROOT } from '../helpers/corpus.js';

const BIN = join(ROOT, 'bin/sidecarctl.js');
/** Colours of the report (a terminal gets them); the bar's own escapes stay. */
const uncoloured = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '');

describe('shouldShowProgress', () => {
  const many = PROGRESS_MIN_FILES;
  it('shows on a terminal, for many files, with the text report', () => {
    expect(shouldShowProgress({ isTTY: true, files: many, report: 'text' })).toBe(true);
  });
  it('never on a pipe or a file', () => {
    expect(shouldShowProgress({ isTTY: false, files: many * 100, report: 'text' })).toBe(false);
  });
  it('never with --report json', () => {
    expect(shouldShowProgress({ isTTY: true, files: many * 100, report: 'json' })).toBe(false);
  });
  it('not for a few files', () => {
    expect(shouldShowProgress({ isTTY: true, files: many - 1, report: 'text' })).toBe(false);
  });
});

describe('formatBar', () => {
  it('fills in proportion and fits the width', () => {
    const bar = formatBar(1, 4, 'inject 4 files', 60);
    expect(bar).toMatch(/^inject 4 files \[#+-+\]  25%$/);
    expect(bar.length).toBeLessThanOrEqual(60);
    const inside = /\[(.*)\]/.exec(bar)![1]!;
    expect(inside.split('#').length - 1).toBe(Math.round(inside.length / 4));
  });
  it('is full at the end, and empty for nothing', () => {
    expect(formatBar(7, 7, 'x', 80)).toMatch(/\[#+\] 100%$/);
    expect(formatBar(0, 7, 'x', 80)).toMatch(/\[-+\]   0%$/);
  });
});

describe('createProgress', () => {
  function recorder() {
    const writes: string[] = [];
    return { writes, stream: { columns: 80, write: (t: string) => writes.push(t) > 0 } };
  }

  it('repaints at most every 80 ms, always at the end, then erases its line', () => {
    const { writes, stream } = recorder();
    let clock = 0;
    const progress = createProgress(stream, true, 'inject', () => clock);
    progress.update(1, 3);
    progress.update(2, 3); // same instant: skipped
    clock = 100;
    progress.update(2, 3);
    progress.update(3, 3); // the end: always drawn
    progress.finish();
    expect(writes.map((w) => /(\d+)%/.exec(w)?.[1] ?? w)).toEqual(['33', '66', '100', '\r\x1b[K']);
  });

  it('writes nothing when not shown', () => {
    const { writes, stream } = recorder();
    const progress = createProgress(stream, false, 'inject');
    progress.update(1, 1);
    progress.finish();
    expect(writes).toEqual([]);
  });
});

describe('the CLI', () => {
  function manyFiles(): { dir: string; out: string } {
    const base = mkdtempSync(join(tmpdir(), 'sidecarctl-progress-'));
    const dir = join(base, 'in');
    mkdirSync(dir);
    for (let i = 0; i < PROGRESS_MIN_FILES + 2; i++) copyFileSync(join(ROOT, 'fixtures/web.yaml'), join(dir, `web-${i}.yaml`));
    return { dir, out: join(base, 'out') + '/' };
  }

  it('draws the bar on a terminal (a real pty through script(1))', async () => {
    const { dir, out } = manyFiles();
    // script gives the child a pty for stdin, stdout and stderr; -e passes the exit code through.
    const r = await execa('script', ['-q', '-e', '-c', `node ${BIN} inject ${dir} -o ${out}`, '/dev/null'], { reject: false, env: { NO_COLOR: '1' } });
    expect(r.exitCode).toBe(0);
    const screen = uncoloured(r.stdout);
    expect(screen).toMatch(/\rinject 12 files \[#+\] 100%/);
    expect(screen).toContain('\r\x1b[K');
    expect(screen).toContain('injected Deployment/shop/web');
    expect(readdirSync(out, { recursive: true }).length).toBeGreaterThan(0);
  });

  it('draws nothing when stderr is a pipe', async () => {
    const { dir, out } = manyFiles();
    const r = await execa('node', [BIN, 'inject', dir, '-o', out], { reject: false, env: { NO_COLOR: '1' } });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('injected Deployment/shop/web');
    expect(r.stderr).not.toContain('\r');
    expect(r.stderr).not.toMatch(/\[#+-*\]/);
  });

  it('draws nothing on a terminal with --report json, whose stderr stays JSON', async () => {
    const { dir, out } = manyFiles();
    const r = await execa('script', ['-q', '-e', '-c', `node ${BIN} inject ${dir} -o ${out} --report json`, '/dev/null'], { reject: false, env: { NO_COLOR: '1' } });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).not.toMatch(/\[#+-*\]/);
    expect(JSON.parse(r.stdout.replace(/\r\n/g, '\n'))).toHaveLength(PROGRESS_MIN_FILES + 2);
  });
});

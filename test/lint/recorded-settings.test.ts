/**
 * Injections remember their settings: made with flags, the status annotation records what the flags
 * changed (nothing that the profile or annotations already say), so `inject --check` and lint's
 * inject-drift, run without the flags, re-create the same output. Old records (no settings) still work.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CORPUS, ROOT } from '../helpers/corpus.js';

const BIN = join(ROOT, 'bin/sidecarctl.js');
const FLAGS = ['--retries', '2', '--rate-limit', '100', '--logging', 'fluent-bit'];

function run(args: string[], cwd: string, stdin?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', input: stdin ?? '' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function statuses(text: string): Record<string, unknown>[] {
  return parseAllDocuments(text).flatMap((d) => {
    const o = d.toJS() as { kind?: string; spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } } | null;
    const raw = o?.spec?.template?.metadata?.annotations?.['sidecarctl.io/status'];
    return raw ? [JSON.parse(raw) as Record<string, unknown>] : [];
  });
}

describe('recorded settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sidecarctl-recorded-'));
  const input = readFileSync(join(CORPUS, 'real/ms-demo.yaml'), 'utf8');
  writeFileSync(join(dir, 'app.yaml'), input);

  it('inject with flags, then inject --check without them passes, and lint (inject-drift included) has no error', () => {
    const injected = run(['inject', ...FLAGS, 'app.yaml', '-o', 'out.yaml'], dir);
    expect(injected.code, injected.stderr).toBe(0);
    const out = readFileSync(join(dir, 'out.yaml'), 'utf8');
    const records = statuses(out);
    expect(records.length).toBeGreaterThan(5);
    for (const s of records) expect(s.settings).toEqual({ retries: '2', 'rate-limit': '100', logging: 'fluent-bit' });
    const check = run(['inject', '--check', 'out.yaml'], dir);
    expect(check.code, check.stderr).toBe(0);
    const lint = run(['lint', '--format', 'json', 'out.yaml'], dir);
    expect(lint.code, lint.stdout).toBe(0);
    expect(lint.stdout).not.toContain('inject-drift');
    // The flags given again change nothing either; uninject gives back the input.
    expect(run(['inject', '--check', ...FLAGS, 'out.yaml'], dir).code).toBe(0);
    expect(run(['uninject', 'out.yaml'], dir).stdout).toBe(input);
  });

  it('a recorded setting edited by hand is drift: --check fails and inject-drift says where', () => {
    const out = readFileSync(join(dir, 'out.yaml'), 'utf8');
    writeFileSync(join(dir, 'edited.yaml'), out.replace('"retries":"2"', '"retries":"3"'));
    expect(run(['inject', '--check', 'edited.yaml'], dir).code).toBe(1);
    const lint = run(['lint', 'edited.yaml'], dir);
    expect(lint.code).toBe(1);
    expect(lint.stdout).toMatch(/edited\.yaml:\d+:1: error: .*\[inject-drift\]/);
  });

  it('only what differs from the profile is recorded; a flag equal to it is not', () => {
    writeFileSync(join(dir, '.sidecarctl.yaml'), 'retries: 2\nlogging: fluent-bit\n');
    const r = run(['inject', ...FLAGS, 'app.yaml'], dir);
    expect(r.code, r.stderr).toBe(0);
    for (const s of statuses(r.stdout)) expect(s.settings).toEqual({ 'rate-limit': '100' });
    writeFileSync(join(dir, 'p.yaml'), r.stdout);
    expect(run(['inject', '--check', 'p.yaml'], dir).code).toBe(0);
    // No flags: nothing to record, and the record looks as it always did.
    const plain = run(['inject', 'app.yaml'], dir);
    for (const s of statuses(plain.stdout)) expect(s).not.toHaveProperty('settings');
    writeFileSync(join(dir, '.sidecarctl.yaml'), '');
  });

  it('never records a credential: an output URL with user:password is left out', () => {
    const r = run(['inject', '--logging', 'fluent-bit', '--log-output', 'es://elastic:s3cret@es.example:9200', 'app.yaml'], dir);
    if (r.code !== 0) return expect(r.stderr).toMatch(/log-output/); // refused outright is fine too
    expect(r.stdout.match(/s3cret/g)?.length ?? 0).toBe(countIn(r.stdout));
    for (const s of statuses(r.stdout)) expect(JSON.stringify(s.settings)).not.toContain('s3cret');
  });
});

/** How often the credential appears in generated configs (inject puts it there because it was asked to). */
function countIn(text: string): number {
  return parseAllDocuments(text).reduce((n, d) => {
    const o = d.toJS() as { kind?: string; data?: Record<string, string> } | null;
    return n + (o?.kind === 'ConfigMap' ? Object.values(o.data ?? {}).join('\n').split('s3cret').length - 1 : 0);
  }, 0);
}

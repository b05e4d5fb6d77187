/**
 * Every real manifest of the corpus, injected by sidecarctl, lints no worse than it went in: inject
 * adds no finding of its own. The one kind of new finding allowed is a Service that inject itself
 * left pointing at the app and said so in its report (service-bypass is then exactly right).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CORPUS, ROOT, filesUnder, inject, load } from '../helpers/corpus.js';
import { parseSource } from '../../src/manifest/source.js';
import { UserError } from '../../src/errors.js';
import { lint } from './helpers.js';

describe('lint on the corpus', () => {
  it('inject output adds no findings to its input', async () => {
    let linted = 0;
    const added: string[] = [];
    for (const path of filesUnder(CORPUS)) {
      let input;
      try {
        input = load(path);
      } catch (error) {
        if (error instanceof UserError) continue; // malformed on purpose: inject refuses it too
        throw error;
      }
      let result;
      try {
        result = inject(input);
      } catch (error) {
        if (error instanceof UserError) continue; // refused with file:line by inject (its own tests cover it)
        throw error;
      }
      const output = parseSource(path, result.files[0]!.text);
      const key = (f: { rule: string; message: string }) => `${f.rule}: ${f.message}`;
      const before = new Set((await lint([input])).map(key));
      const notes = result.reports.flatMap((r) => r.notes).join('\n');
      for (const f of await lint([output])) {
        if (before.has(key(f))) continue;
        const service = /^Service (\S+) port/.exec(f.message)?.[1];
        const reported = f.rule === 'service-bypass' && notes.split('\n').some((n) => n.includes(`Service/${service} `) && n.includes('targetPort is left alone'));
        if (!reported) added.push(`${path}:${f.line}: ${key(f)}`);
      }
      linted++;
    }
    expect(linted).toBeGreaterThan(100);
    expect(added).toEqual([]);
  });
});

describe('lint on the corpus as a hook sees it', () => {
  const BIN = join(ROOT, 'bin/sidecarctl.js');
  const FOLDERS = ['real', 'apps', 'kustomize'];
  const FLAGS = ['--retries', '2', '--rate-limit', '100', '--logging', 'fluent-bit'];
  const run = (args: string[], cwd = ROOT) => spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8' });
  const errors = (stdout: string) => (JSON.parse(stdout).findings as { severity: string; rule: string; file: string; line: number; message: string }[]).filter((f) => f.severity === 'error');

  it('real/, apps/ and kustomize/ lint with 0 errors as they are', () => {
    const r = run(['lint', '--format', 'json', ...FOLDERS.map((f) => join(CORPUS, f))]);
    expect(errors(r.stdout).map((f) => `${f.file}:${f.line} ${f.rule}: ${f.message}`)).toEqual([]);
    expect(r.status).toBe(0);
  });

  it('injected in place with flags: 0 errors but a bypass inject itself reported, and inject --check passes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidecarctl-corpus-'));
    for (const f of FOLDERS) cpSync(join(CORPUS, f), join(dir, f), { recursive: true });
    const injected = run(['inject', '-i', ...FLAGS, '--report', 'json', ...FOLDERS], dir);
    expect(injected.status, injected.stderr).toBe(0);
    const notes = (JSON.parse(injected.stderr) as { notes: string[] }[]).flatMap((r) => r.notes);
    const lint = run(['lint', '--format', 'json', ...FOLDERS], dir);
    const unexplained = errors(lint.stdout).filter((f) => {
      const service = /^Service (\S+) port/.exec(f.message)?.[1];
      return !(f.rule === 'service-bypass' && notes.some((n) => n.includes(`Service/${service} `) && n.includes('targetPort is left alone')));
    });
    expect(unexplained.map((f) => `${f.file}:${f.line} ${f.rule}: ${f.message}`)).toEqual([]);
    const check = run(['inject', '--check', ...FOLDERS], dir);
    expect(check.status, check.stderr).toBe(0);
  }, 120_000);

  it('real/ injected under --mtls strict: no Service left on an app port, no policy blocking a proxy, no public port demanding client certificates', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidecarctl-corpus-strict-'));
    cpSync(join(CORPUS, 'real'), join(dir, 'real'), { recursive: true });
    const injected = run(['inject', '-i', '--mtls', 'strict', '--mtls-issuer', 'mesh-ca', '--report', 'json', 'real'], dir);
    expect(injected.status, injected.stderr).toBe(0);
    const notes = (JSON.parse(injected.stderr) as { notes: string[] }[]).flatMap((r) => r.notes);
    // real/ has no policies of its own: each proxied workload gets one that closes its app ports.
    expect(notes.filter((n) => /^NetworkPolicy\/\S+-sidecarctl: other pods reach only/.test(n)).length).toBeGreaterThan(10);
    const lint = run(['lint', '--format', 'json', 'real'], dir);
    const findings = JSON.parse(lint.stdout).findings as { rule: string }[];
    expect(findings.filter((f) => f.rule === 'open-app-port')).toEqual([]);
    const network = errors(lint.stdout).filter((f) => {
      if (!['service-bypass', 'policy-blocks-proxy', 'public-strict'].includes(f.rule)) return false;
      const service = /^Service (\S+) port/.exec(f.message)?.[1];
      return !(f.rule === 'service-bypass' && notes.some((n) => n.includes(`Service/${service} `) && n.includes('targetPort is left alone')));
    });
    expect(network.map((f) => `${f.file}:${f.line} ${f.rule}: ${f.message}`)).toEqual([]);
  }, 120_000);
});

/**
 * `lint --kustomize DIR` runs the real `kubectl kustomize` and says each finding at the source file and
 * line of the object it is about; the documented pipe (`kubectl kustomize DIR | sidecarctl lint -`) lints
 * the same build at the stream's lines.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CORPUS, ROOT } from '../helpers/corpus.js';

const BIN = join(ROOT, 'bin/sidecarctl.js');
const FIXTURE = join(ROOT, 'test/lint/fixtures/kustomize');

function lint(args: string[], cwd = ROOT, input?: string) {
  const r = spawnSync(process.execPath, [BIN, 'lint', ...args], { cwd, encoding: 'utf8', input: input ?? '' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('lint --kustomize', () => {
  it('every overlay of the corpus metrics-server tree builds and lints with 0 errors', () => {
    for (const overlay of ['release', 'release-ha', 'release-ha-1.21+', 'test', 'test-ha']) {
      const r = lint(['--kustomize', join(CORPUS, 'kustomize/metrics-server/overlays', overlay), '--format', 'json']);
      expect(r.code, `${overlay}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(JSON.parse(r.stdout).errors).toBe(0);
    }
  });

  it('a finding of the built object is reported at the base file and line it was written at', () => {
    const r = lint(['--kustomize', 'overlay', '--format', 'json'], FIXTURE);
    expect(r.code).toBe(1);
    const findings = JSON.parse(r.stdout).findings as { file: string; line: number; message: string }[];
    const typo = findings.find((f) => f.message.includes('imagePullPolicyy'))!;
    expect(`${typo.file}:${typo.line}`).toBe('base/deploy.yaml:15');
    // The patched-in value: at its object in the origin file (kustomize records no origin for patches).
    const replicas = findings.find((f) => f.message.startsWith('spec.replicas'))!;
    expect(replicas.file).toBe('base/deploy.yaml');
  });

  it('kubectl kustomize DIR | sidecarctl lint - gives the same findings, at the stream\'s lines', () => {
    const stream = execFileSync('kubectl', ['kustomize', join(FIXTURE, 'overlay')], { encoding: 'utf8' });
    const r = lint(['-', '--format', 'json'], ROOT, stream);
    expect(r.code).toBe(1);
    const piped = (JSON.parse(r.stdout).findings as { message: string }[]).map((f) => f.message).sort();
    const built = (JSON.parse(lint(['--kustomize', 'overlay', '--format', 'json'], FIXTURE).stdout).findings as { message: string }[]).map((f) => f.message).sort();
    expect(piped).toEqual(built);
  });

  it('a broken kustomization is exit 2 with kustomize\'s reason', () => {
    const r = lint(['--kustomize', join(FIXTURE, 'base', 'missing')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/kubectl kustomize failed/);
  });
});

/**
 * `sidecarctl lint` end to end: the real binary, real files, a real git repository for --staged, the
 * pre-commit hook's entry run the way pre-commit runs it, and the SARIF output checked against the
 * SARIF 2.1.0 JSON Schema.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../helpers/corpus.js';
import { lintFile } from './helpers.js';

const BIN = join(ROOT, 'bin/sidecarctl.js');
const HAND_WRITTEN = join(ROOT, 'test/lint/fixtures/hand-written.yaml');
const CONFIGS = join(ROOT, 'test/lint/fixtures/configs.yaml');

function sidecarctl(args: string[], cwd = ROOT) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function injectedWeb(): string {
  return execFileSync(process.execPath, [BIN, 'inject', join(ROOT, 'fixtures/web.yaml')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

describe('the other configs and the schema', () => {
  it('Fluentd, bundled-proxy and Kubernetes schema findings at their lines', async () => {
    const lines = readFileSync(CONFIGS, 'utf8').split('\n');
    const findings = await lintFile(CONFIGS);
    const at = (rule: string) => findings.filter((f) => f.rule === rule).map((f) => lines[f.line - 1]!.slice(f.col - 1));
    expect(at('fluentd-config')).toEqual(['@type stdoutt']);
    // A quoted (not block) value has no line mapping: findings point at its key.
    expect(at('proxy-config').every((l) => l.startsWith('proxy.json:'))).toBe(true);
    expect(at('proxy-config').length).toBeGreaterThan(0);
    expect(at('k8s-schema')).toEqual(['imagePullPolicyy: Always']);
    // Configs are known by their carrier: the Grafana dashboard named proxy.json is not a proxy config.
    expect(findings.filter((f) => f.object === 'ConfigMap/grafana-dashboard-proxy')).toEqual([]);
  });
});

describe('sidecarctl lint (binary)', () => {
  it('exit 1 and file:line:col: severity: message [rule] for findings', () => {
    const r = sidecarctl(['lint', 'test/lint/fixtures/hand-written.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^test\/lint\/fixtures\/hand-written\.yaml:128:9: error: sidecar envoy image envoyproxy\/envoy:latest is tagged latest: .* \[image-tag\]$/m);
  });

  it('exit 0 on inject output; json format', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lint-'));
    writeFileSync(join(dir, 'web.yaml'), injectedWeb());
    const r = sidecarctl(['lint', '--format', 'json', join(dir, 'web.yaml')]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ files: 1, errors: 0, warnings: 0, findings: [] });
  });

  it('exit 2 with file:line for a malformed file, and for a bad --format', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lint-'));
    writeFileSync(join(dir, 'bad.yaml'), 'kind: Pod\nkind: Pod\n');
    const r = sidecarctl(['lint', join(dir, 'bad.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'bad.yaml')}:2: `);
    expect(sidecarctl(['lint', '--format', 'xml', 'test/lint/fixtures']).code).toBe(2);
  });

  it('SARIF output is valid against the SARIF 2.1.0 JSON Schema', () => {
    const r = sidecarctl(['lint', '--format', 'sarif', 'test/lint/fixtures']);
    expect(r.code).toBe(1);
    const log = JSON.parse(r.stdout) as { runs: { results: { ruleId: string; locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }[] }[] };
    // The schema as Microsoft ships it (draft-04), with the draft-04-capable ajv that package depends on.
    const pkg = createRequire(import.meta.url).resolve('@microsoft/jest-sarif/package.json');
    const requireThere = createRequire(pkg);
    const schema = JSON.parse(readFileSync(join(dirname(pkg), 'lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8')) as object;
    const Ajv = requireThere('ajv') as new (o: object) => { addMetaSchema(s: object): void; validate(s: object, d: unknown): boolean; errorsText(): string };
    const ajv = new Ajv({ schemaId: 'auto', validateSchema: false, allErrors: true });
    ajv.addMetaSchema(requireThere('ajv/lib/refs/json-schema-draft-04.json') as object);
    const valid = ajv.validate(schema, log);
    expect(valid ? '' : ajv.errorsText()).toBe('');
    // And the schema is not vacuous: a result without a message is refused.
    const broken = structuredClone(log) as { runs: { results: Record<string, unknown>[] }[] };
    delete broken.runs[0]!.results[0]!.message;
    expect(ajv.validate(schema, broken)).toBe(false);
    const text = sidecarctl(['lint', 'test/lint/fixtures']).stdout.trim().split('\n').length - 1;
    expect(log.runs[0]!.results.length).toBe(text);
    expect(log.runs[0]!.results[0]!.locations[0]!.physicalLocation.artifactLocation.uri).toMatch(/^test\/lint\/fixtures\/[a-z-]+\.yaml$/);
  });
});

describe('--staged', () => {
  it('lints what is staged, not the working tree', () => {
    const repo = mkdtempSync(join(tmpdir(), 'lint-git-'));
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'pipe' });
    git('init', '-q');
    const bad = readFileSync(HAND_WRITTEN, 'utf8');
    writeFileSync(join(repo, 'deploy.yaml'), bad);
    git('add', 'deploy.yaml');
    // Fixed in the working tree but not staged: the commit would still hold the defects.
    writeFileSync(join(repo, 'deploy.yaml'), injectedWeb());
    writeFileSync(join(repo, 'untracked.yaml'), 'a: 1\n b: 2\n');
    const r = sidecarctl(['lint', '--staged'], repo);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('deploy.yaml:128:9: error: sidecar envoy image envoyproxy/envoy:latest');
    expect(r.stdout).toMatch(/^1 file linted/m);
    // Stage the fix: clean.
    git('add', 'deploy.yaml');
    expect(sidecarctl(['lint', '--staged'], repo).code).toBe(0);
  });

  it('outside a git repository: exit 2', () => {
    const r = sidecarctl(['lint', '--staged'], mkdtempSync(join(tmpdir(), 'lint-nogit-')));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--staged: git');
  });
});

describe('.pre-commit-hooks.yaml', () => {
  const hooks = parse(readFileSync(join(ROOT, '.pre-commit-hooks.yaml'), 'utf8')) as Record<string, unknown>[];
  const hook = hooks.find((h) => h.id === 'sidecarctl-lint')!;

  it('declares a node hook on YAML and JSON files', () => {
    expect(hook).toMatchObject({ language: 'node', entry: 'sidecarctl lint' });
    expect(hook.types_or).toEqual(['yaml', 'json']);
  });

  it('its entry, run as pre-commit runs it (entry + file names), fails on defects and passes clean files', () => {
    // pre-commit splits the entry like a shell and appends the matching file names; the
    // `sidecarctl` of a node hook is this package's bin.
    const [command, ...args] = String(hook.entry).split(/\s+/);
    expect(command).toBe('sidecarctl');
    const dir = mkdtempSync(join(tmpdir(), 'lint-hook-'));
    writeFileSync(join(dir, 'web.yaml'), injectedWeb());
    writeFileSync(join(dir, 'package.json'), '{"name": "not-a-manifest"}\n');
    const run = (files: string[]) => spawnSync(process.execPath, [BIN, ...args, ...files], { cwd: dir, encoding: 'utf8' });
    expect(run(['web.yaml', 'package.json']).status).toBe(0);
    expect(run(['web.yaml', HAND_WRITTEN]).status).toBe(1);
  });
});

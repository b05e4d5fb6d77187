/** `sidecarctl scaffold` as a real process without a terminal: the refusal, --yes, --force, and inject agreeing. */
import { execa } from 'execa';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT, schemaIssues } from '../helpers/corpus.js';

const BIN = join(ROOT, 'bin/sidecarctl.js');

function run(args: string[], cwd: string) {
  return execa('node', [BIN, ...args], { cwd, reject: false, stdin: 'ignore', env: { NO_COLOR: '1' } });
}

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sidecarctl-scaffold-cli-'));
  copyFileSync(join(ROOT, 'fixtures/web.yaml'), join(dir, 'web.yaml'));
  return dir;
}

const POLICIES = ['--retries', '3', '--per-try-timeout', '250ms', '--rate-limit', '100', '--upstream', 'payments=payments.prod:8080@18080'];

describe('sidecarctl scaffold without a terminal', () => {
  it('refuses with exit 2, names --yes and the flags, writes nothing', async () => {
    const dir = project();
    const r = await run(['scaffold', 'web.yaml'], dir);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('needs a terminal');
    expect(r.stderr).toContain('--yes');
    expect(r.stderr).toContain('--retries');
    expect(readdirSync(dir)).toEqual(['web.yaml']);
  });

  it('--yes takes defaults and flags; `sidecarctl inject` with the written profile gives the same bytes', async () => {
    const dir = project();
    const r = await run(['scaffold', 'web.yaml', '--yes', ...POLICIES], dir);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['.sidecarctl.yaml', 'web.injected.yaml', 'web.yaml']);
    const profile = readFileSync(join(dir, '.sidecarctl.yaml'), 'utf8');
    expect(profile).toMatch(/^# yaml-language-server: \$schema=https:\/\/unpkg\.com\/sidecarctl@[\d.]+\/schemas\/profile\.schema\.json\n/);
    expect(parse(profile)).toMatchObject({ proxy: 'envoy', retries: 3, 'per-try-timeout': '250ms', 'rate-limit': 100, upstream: ['payments=payments.prod:8080@18080'] });
    const injected = await run(['inject', 'web.yaml'], dir);
    expect(injected.exitCode).toBe(0);
    expect(injected.stdout + '\n').toBe(readFileSync(join(dir, 'web.injected.yaml'), 'utf8'));
    expect(schemaIssues(injected.stdout)).toEqual([]);
  });

  it('--yes never overwrites without --force; with it, it does', async () => {
    const dir = project();
    writeFileSync(join(dir, 'out.yaml'), 'mine\n');
    const refused = await run(['scaffold', 'web.yaml', '--yes', '-o', 'out.yaml'], dir);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('would overwrite out.yaml; give --force');
    expect(readdirSync(dir).sort()).toEqual(['out.yaml', 'web.yaml']);
    expect(readFileSync(join(dir, 'out.yaml'), 'utf8')).toBe('mine\n');
    const forced = await run(['scaffold', 'web.yaml', '--yes', '-o', 'out.yaml', '--force'], dir);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(readFileSync(join(dir, 'out.yaml'), 'utf8')).toContain('sidecarctl-envoy');
  });

  it('a bad flag is bad input before anything else; --yes without PATH too', async () => {
    const dir = project();
    const bad = await run(['scaffold', 'web.yaml', '--yes', '--retries', '11'], dir);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--retries: 11 retries is too many');
    const noPath = await run(['scaffold', '--yes'], dir);
    expect(noPath.exitCode).toBe(2);
    expect(noPath.stderr).toContain('needs PATH');
    expect(readdirSync(dir)).toEqual(['web.yaml']);
  });

  it('the prompts library is loaded only by an interactive scaffold, not by --version or --yes', async () => {
    const dir = project();
    const hooks = join(dir, 'trace.mjs');
    const trace = `export async function resolve(s, c, next) { if (s.startsWith('@inquirer/')) process.stderr.write('LOADED ' + s + '\\n'); return next(s, c); }`;
    writeFileSync(hooks, `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent(${JSON.stringify(trace)}));\n`);
    const traced = (args: string[]) => execa('node', ['--import', hooks, BIN, ...args], { cwd: dir, reject: false, stdin: 'ignore' });
    expect((await traced(['--version'])).stderr).not.toContain('LOADED');
    const yes = await traced(['scaffold', 'web.yaml', '--yes', '-o', 'out.yaml', '--profile', 'p.yaml']);
    expect(yes.exitCode, yes.stderr).toBe(0);
    expect(yes.stderr).not.toContain('LOADED');
    // The hook itself works: a direct import of the prompts is seen.
    const direct = await execa('node', ['--import', hooks, '--input-type=module', '-e', "await import('@inquirer/prompts')"], { cwd: ROOT, reject: false });
    expect(direct.stderr).toContain('LOADED @inquirer/prompts');
  });
});

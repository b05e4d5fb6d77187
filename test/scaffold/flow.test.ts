/**
 * The scaffold's prompt flows, driven key by key through @inquirer/testing's virtual screen (the real
 * prompts, with their input and output redirected), on real files in a temp directory.
 */
import { screen } from '@inquirer/testing/vitest';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { askSettings, scaffold, type ScaffoldRequest } from '../../src/scaffold/flow.js';
import { seedDraft, finalDraft } from '../../src/scaffold/questions.js';
import { parseProfile } from '../../src/settings/profile.js';
import { resolveSettings } from '../../src/settings/resolve.js';
import { profileText } from '../../src/scaffold/profile-text.js';
import { load, objectsOfText, ROOT, schemaIssues } from '../helpers/corpus.js';
import { runInjection } from '../../src/inject/run.js';

const WEB = join(ROOT, 'fixtures/web.yaml');
const CRON = join(ROOT, 'fixtures/report-cronjob.yaml');

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sidecarctl-scaffold-'));
}

function request(dir: string, overrides: Partial<ScaffoldRequest> = {}): ScaffoldRequest & { logged: string[] } {
  const logged: string[] = [];
  return { yes: false, force: false, profilePath: join(dir, '.sidecarctl.yaml'), seed: [], sections: {}, log: (t) => logged.push(t), logged, ...overrides };
}

/** Wait until the prompt on screen shows `text` (or the flow ends, which then fails the expectation). */
async function until(text: string, run: Promise<unknown>): Promise<void> {
  let ended = false;
  void run.then(() => (ended = true), () => (ended = true));
  for (let i = 0; i < 12 && !ended && !screen.getScreen().includes(text); i++) {
    await Promise.race([screen.next(), run.catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
  }
  expect(screen.getScreen()).toContain(text);
}

async function answer(question: string, run: Promise<unknown>, typed = ''): Promise<void> {
  await until(question, run);
  if (typed) screen.type(typed);
  screen.keypress('enter');
}

/** What `sidecarctl inject INPUT` gives with the profile that scaffold wrote. */
function injectWithProfile(input: string, profilePath: string): string {
  const profile = parseProfile(profilePath, readFileSync(profilePath, 'utf8'));
  return runInjection([load(input)], { mode: 'inject', profile: profile.layer, flags: [] }).files[0]!.text;
}

function listDir(dir: string): string[] {
  return readdirSync(dir).sort();
}

describe('scaffold prompts', () => {
  it('Enter on every question: the defaults, a summary, then the profile and manifests beside the input', async () => {
    const dir = tempDir();
    const input = join(dir, 'web.yaml');
    copyFileSync(WEB, input);
    const req = request(dir, { path: input });
    const run = scaffold(req);
    for (const q of ['Proxy sidecar', 'Log shipper', 'Inbound mTLS', 'Retry attempts', 'Inbound rate limit', 'Upstreams', 'Write the injected manifests to']) await answer(q, run);
    await answer('Write 2 files?', run);
    await expect(run).resolves.toBe(0);

    expect(listDir(dir)).toEqual(['.sidecarctl.yaml', 'web.injected.yaml', 'web.yaml']);
    const log = req.logged.join('');
    expect(log).toContain('Deployment/shop/web');
    expect(log).toContain('web:8080/http; the proxy fronts 8080');
    const profile = parse(readFileSync(req.profilePath, 'utf8')) as Record<string, unknown>;
    expect(profile).toEqual({ proxy: 'envoy', logging: 'none', mtls: 'off', retries: 0 });
    // The same as inject with that profile, and valid for the API server.
    const written = readFileSync(join(dir, 'web.injected.yaml'), 'utf8');
    expect(written).toBe(injectWithProfile(input, req.profilePath));
    expect(objectsOfText(written).map((o) => o.kind)).toEqual(['Service', 'ConfigMap', 'Deployment']);
    expect(schemaIssues(written)).toEqual([]);
  });

  it('retries, rate limit and an upstream; a bad answer shows the option table message and is asked again', async () => {
    const dir = tempDir();
    const input = join(dir, 'web.yaml');
    copyFileSync(WEB, input);
    const req = request(dir, { path: input, output: join(dir, 'out.yaml') });
    const run = scaffold(req);
    await answer('Proxy sidecar', run);
    await answer('Log shipper', run);
    await answer('Inbound mTLS', run);
    await answer('Retry attempts', run, '11');
    await until('11 retries is too many (at most 10)', run);
    for (let i = 0; i < 2; i++) screen.keypress('backspace');
    screen.type('3');
    screen.keypress('enter');
    await answer('Timeout of each try', run, '250ms');
    await answer('Inbound rate limit', run, '100');
    await answer('Burst', run, '200');
    await answer('Upstreams', run, 'payments=payments.prod.svc.cluster.local');
    await until('is not NAME=[http|http2|grpc|tcp://]HOST:PORT', run);
    screen.type(':8080@18080');
    screen.keypress('enter');
    await answer('Write the injected manifests to', run);
    await answer('Write 2 files?', run);
    await expect(run).resolves.toBe(0);

    const profile = parse(readFileSync(req.profilePath, 'utf8')) as Record<string, unknown>;
    expect(profile).toMatchObject({ retries: 3, 'per-try-timeout': '250ms', 'rate-limit': 100, burst: 200, upstream: ['payments=payments.prod.svc.cluster.local:8080@18080'] });
    const written = readFileSync(join(dir, 'out.yaml'), 'utf8');
    const envoy = objectsOfText(written).find((o) => o.kind === 'ConfigMap')!.data as Record<string, string>;
    expect(envoy['envoy.yaml']).toContain('payments.prod.svc.cluster.local');
    expect(written).toBe(injectWithProfile(input, req.profilePath));
  });

  it('an upstream on the proxy port is refused at the question, with the clash named', async () => {
    const dir = tempDir();
    const input = join(dir, 'web.yaml');
    copyFileSync(WEB, input);
    const run = scaffold(request(dir, { path: input }));
    for (const q of ['Proxy sidecar', 'Log shipper', 'Inbound mTLS', 'Retry attempts', 'Inbound rate limit']) await answer(q, run);
    await answer('Upstreams', run, 'db=db:5432@15006');
    await until('which is the proxy port', run);
    screen.keypress({ name: 'c', ctrl: true });
    await expect(run).rejects.toMatchObject({ name: 'ExitPromptError' });
  });

  it('no PATH: asks for it, and a wrong path is answered with the reason', async () => {
    const dir = tempDir();
    copyFileSync(WEB, join(dir, 'web.yaml'));
    const req = request(dir);
    const run = scaffold(req);
    await answer('Manifests to read', run, join(dir, 'nope.yaml'));
    await until('no such file or directory', run);
    for (let i = 0; i < 'nope.yaml'.length; i++) screen.keypress('backspace');
    screen.type('web.yaml');
    screen.keypress('enter');
    await until('Proxy sidecar', run);
    expect(req.logged.join('')).toContain('Found 1 workload');
    screen.keypress({ name: 'c', ctrl: true });
    await expect(run).rejects.toMatchObject({ name: 'ExitPromptError' });
  });

  it('choosing workloads: the profile lists them, and only they get sidecars', async () => {
    const dir = tempDir();
    const input = join(dir, 'k8s');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(input);
    copyFileSync(WEB, join(input, 'web.yaml'));
    copyFileSync(CRON, join(input, 'report.yaml'));
    const req = request(dir, { path: input });
    const run = scaffold(req);
    await until('Workloads to give sidecars', run);
    expect(screen.getScreen()).toContain('CronJob/nightly-report');
    screen.keypress('space'); // uncheck the first one, the CronJob (it has no port to proxy anyway)
    screen.keypress('enter');
    for (const q of ['Proxy sidecar', 'Log shipper', 'Inbound mTLS', 'Retry attempts', 'Inbound rate limit', 'Upstreams', 'Write the injected manifests to']) await answer(q, run);
    await answer('Write 3 files?', run);
    await expect(run).resolves.toBe(0);

    const profileText = readFileSync(req.profilePath, 'utf8');
    const chosen = (parse(profileText) as { workloads: string[] }).workloads;
    expect(chosen).toHaveLength(1);
    const out = join(dir, 'k8s-injected');
    expect(listDir(out)).toEqual(['report.yaml', 'web.yaml']);
    const changed = ['report.yaml', 'web.yaml'].filter((f) => readFileSync(join(out, f), 'utf8') !== readFileSync(join(input, f), 'utf8'));
    expect(changed).toHaveLength(1);
    expect(req.logged.join('')).toContain('not in the workloads: list');
  });

  it('Ctrl-C at the last question: nothing written', async () => {
    const dir = tempDir();
    const input = join(dir, 'web.yaml');
    copyFileSync(WEB, input);
    const run = scaffold(request(dir, { path: input }));
    for (const q of ['Proxy sidecar', 'Log shipper', 'Inbound mTLS', 'Retry attempts', 'Inbound rate limit', 'Upstreams', 'Write the injected manifests to']) await answer(q, run);
    await until('Write 2 files?', run);
    screen.keypress({ name: 'c', ctrl: true });
    await expect(run).rejects.toMatchObject({ name: 'ExitPromptError' });
    expect(listDir(dir)).toEqual(['web.yaml']);
  });

  it('existing files: the confirmation names them and defaults to No; No writes nothing', async () => {
    const dir = tempDir();
    const input = join(dir, 'web.yaml');
    copyFileSync(WEB, input);
    writeFileSync(join(dir, 'web.injected.yaml'), 'mine\n');
    const req = request(dir, { path: input });
    const run = scaffold(req);
    for (const q of ['Proxy sidecar', 'Log shipper', 'Inbound mTLS', 'Retry attempts', 'Inbound rate limit', 'Upstreams', 'Write the injected manifests to']) await answer(q, run);
    await until(`Overwrite ${join(dir, 'web.injected.yaml')}`, run);
    expect(screen.getScreen()).toContain('(y/N)');
    screen.keypress('enter');
    await expect(run).resolves.toBe(0);
    expect(readFileSync(join(dir, 'web.injected.yaml'), 'utf8')).toBe('mine\n');
    expect(existsSync(req.profilePath)).toBe(false);
    expect(req.logged.join('')).toContain('Nothing written.');
  });

  it('an existing profile seeds the defaults and keeps its lint: section', async () => {
    const dir = tempDir();
    const input = join(dir, 'web.yaml');
    copyFileSync(WEB, input);
    const old = parseProfile('old.yaml', 'retries: 4\nadmin-port: 15500\nlint:\n  disable: [x]\n');
    const req = request(dir, { path: input, seed: [old.layer], sections: old.sections });
    const run = scaffold(req);
    for (const q of ['Proxy sidecar', 'Log shipper', 'Inbound mTLS']) await answer(q, run);
    await until('Retry attempts', run);
    expect(screen.getScreen()).toContain('(4)');
    screen.keypress('enter');
    for (const q of ['Timeout of each try', 'Inbound rate limit', 'Upstreams', 'Write the injected manifests to']) await answer(q, run);
    await answer('Write 2 files?', run);
    await expect(run).resolves.toBe(0);
    expect(parse(readFileSync(req.profilePath, 'utf8'))).toMatchObject({ retries: 4, 'admin-port': 15500, lint: { disable: ['x'] } });
  });
});

/** Branches whose sidecars are still being built: checked up to the profile they produce. */
describe('scaffold prompts: logging and mTLS answers', () => {
  async function settingsFrom(keys: (run: Promise<unknown>) => Promise<void>) {
    const run = askSettings(await import('@inquirer/prompts'), seedDraft([]));
    await keys(run);
    const draft = await run;
    const text = profileText({ draft: finalDraft(draft), schemaRef: 'x.json' });
    return { text, settings: resolveSettings([parseProfile('p.yaml', text).layer]) };
  }

  it('logging: agent, log path and output', async () => {
    const { text, settings } = await settingsFrom(async (run) => {
      await answer('Proxy sidecar', run);
      await until('Log shipper', run);
      screen.keypress('down'); // fluent-bit
      screen.keypress('enter');
      await answer('App log files', run, '/srv/logs/');
      await until('must be an absolute file glob', run);
      screen.type('*.log');
      screen.keypress('enter');
      await answer('Where logs go', run, 'loki://loki.monitoring:3100');
      for (const q of ['Inbound mTLS', 'Retry attempts', 'Inbound rate limit', 'Upstreams']) await answer(q, run);
    });
    expect(text).toContain('logging: fluent-bit\n');
    expect(settings).toMatchObject({ logging: 'fluent-bit', logPath: '/srv/logs/*.log', logOutput: { kind: 'loki', host: 'loki.monitoring', port: 3100 } });
  });

  it('mTLS strict from a cert-manager issuer', async () => {
    const { settings } = await settingsFrom(async (run) => {
      await answer('Proxy sidecar', run);
      await answer('Log shipper', run);
      await until('Inbound mTLS', run);
      screen.keypress('down');
      screen.keypress('down'); // strict
      screen.keypress('enter');
      await answer('Certificates from', run);
      await answer('cert-manager issuer (clusterissuer/NAME', run, 'clusterissuer/mesh-ca');
      for (const q of ['Retry attempts', 'Inbound rate limit', 'Upstreams']) await answer(q, run);
    });
    expect(settings).toMatchObject({ mtls: 'strict', mtlsIssuer: 'clusterissuer/mesh-ca' });
    expect(settings.mtlsSecret).toBeUndefined();
  });

  it('mTLS permissive from an existing Secret; a bad name is refused', async () => {
    const { settings } = await settingsFrom(async (run) => {
      await answer('Proxy sidecar', run);
      await answer('Log shipper', run);
      await until('Inbound mTLS', run);
      screen.keypress('down'); // permissive
      screen.keypress('enter');
      await until('Certificates from', run);
      screen.keypress('down'); // secret
      screen.keypress('enter');
      await answer('Secret name', run, 'Web_TLS');
      await until('is not a valid Secret name', run);
      for (let i = 0; i < 'Web_TLS'.length; i++) screen.keypress('backspace');
      screen.type('web-tls');
      screen.keypress('enter');
      for (const q of ['Retry attempts', 'Inbound rate limit', 'Upstreams']) await answer(q, run);
    });
    expect(settings).toMatchObject({ mtls: 'permissive', mtlsSecret: 'web-tls' });
  });

  it('proxy none: no proxy questions, only logging', async () => {
    const run = askSettings(await import('@inquirer/prompts'), seedDraft([]));
    await until('Proxy sidecar', run);
    screen.keypress('down');
    screen.keypress('down'); // none
    screen.keypress('enter');
    await until('Log shipper', run);
    screen.keypress('down');
    screen.keypress('down'); // fluentd
    screen.keypress('enter');
    await answer('App log files', run);
    await answer('Where logs go', run);
    const draft = await run;
    expect(finalDraft(draft)).toEqual({ proxy: 'none', logging: 'fluentd', 'log-path': '/var/log/app/*.log', 'log-output': 'stdout' });
  });
});

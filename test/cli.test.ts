/** The CLI as users run it: a real child process, real files, stdin, exit codes. */
import { execa } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { envoyIssues, objectsOfText, ROOT, schemaIssues } from './helpers/corpus.js';
import { resolveConfig } from '../src/proxy/config.js';
import { validateFluentBitConfig } from '../src/validate/fluentbit.js';
import { FLUENTD_IMAGES, validateFluentdConfig } from '../src/validate/fluentd.js';

const BIN = join(ROOT, 'bin/sidecarctl.js');
const WEB = join(ROOT, 'fixtures/web.yaml');

function run(args: string[], input?: string, cwd = ROOT) {
  return execa('node', [BIN, ...args], { cwd, reject: false, stripFinalNewline: false, env: { NO_COLOR: '1' }, ...(input !== undefined ? { input } : { stdin: 'ignore' }) });
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sidecarctl-test-'));
}

describe('sidecarctl inject', () => {
  it('injects a fixture: manifests on stdout, report on stderr, exit 0', async () => {
    const r = await run(['inject', WEB]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('injected Deployment/shop/web');
    expect(r.stderr).toContain('Service/web targetPort http -> 15006');
    const objects = objectsOfText(r.stdout);
    expect(objects.map((o) => o.kind)).toEqual(['Service', 'ConfigMap', 'Deployment']);
    expect(schemaIssues(r.stdout)).toEqual([]);
    expect((await envoyIssues(r.stdout)).issues).toEqual([]);
    // The annotations on the pod template set retries for this workload.
    const envoy = parse((objects[1]!.data as Record<string, string>)['envoy.yaml']!) as Record<string, any>;
    const route = envoy.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route;
    expect(route.retry_policy).toMatchObject({ num_retries: 2, per_try_timeout: '0.500s' });
  });

  it('reads stdin when piped, and flags override annotations', async () => {
    const r = await run(['inject', '--retries', '5', '--report', 'json'], readFileSync(WEB, 'utf8'));
    expect(r.exitCode).toBe(0);
    const cm = objectsOfText(r.stdout).find((o) => o.kind === 'ConfigMap')!;
    expect((cm.data as Record<string, string>)['envoy.yaml']).toContain('num_retries: 5');
    const report = JSON.parse(r.stderr) as { object: string; action: string; file: string }[];
    expect(report).toMatchObject([{ object: 'Deployment/shop/web', action: 'injected', file: '<stdin>' }]);
  });

  it('uninject after inject gives back the input byte for byte', async () => {
    const injected = await run(['inject', WEB]);
    const back = await run(['uninject', '-'], injected.stdout);
    expect(back.exitCode).toBe(0);
    expect(back.stdout).toBe(readFileSync(WEB, 'utf8'));
  });

  it('keeps JSON as JSON and round-trips it', async () => {
    const file = join(ROOT, 'fixtures/catalog.json');
    const r = await run(['inject', file]);
    expect(r.exitCode).toBe(0);
    const list = JSON.parse(r.stdout) as { kind: string; items: { kind: string }[] };
    expect(list.kind).toBe('List');
    expect(list.items.map((i) => i.kind)).toEqual(['ConfigMap', 'StatefulSet']);
    const back = await run(['uninject', '-'], r.stdout);
    expect(back.stdout).toBe(readFileSync(file, 'utf8'));
  });

  it('malformed YAML: file:line, exit 2, nothing on stdout', async () => {
    const dir = tempDir();
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels: [a\n');
    const r = await run(['inject', bad]);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^sidecarctl: ${bad.replace(/[.]/g, '\\.')}:\\d+: `));
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('a pod spec of the wrong shape: file:line, exit 2', async () => {
    const dir = tempDir();
    const bad = join(dir, 'shape.yaml');
    writeFileSync(bad, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n    name: app\n');
    const r = await run(['inject', bad]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${bad}:7: Pod x: containers must be a list`);
  });

  it('bad flag values and unknown flags exit 2 with a clear message', async () => {
    const retries = await run(['inject', '--retries', 'many', WEB]);
    expect(retries.exitCode).toBe(2);
    expect(retries.stderr).toContain('--retries: "many" is not a whole number');
    const duration = await run(['inject', '--per-try-timeout', '5', WEB]);
    expect(duration.stderr).toContain('is not a duration');
    const unknown = await run(['inject', '--retrys', '3', WEB]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--retrys'");
    const strict = await run(['inject', '--mtls', 'strict', WEB]);
    expect(strict.exitCode).toBe(2);
    expect(strict.stderr).toContain('needs a certificate source');
    expect(strict.stdout).toBe('');
    // With a certificate source, strict mTLS is injected (details in test/mtls/).
    const mtls = await run(['inject', '--mtls', 'strict', '--mtls-secret', 'web-tls', WEB]);
    expect(mtls.exitCode).toBe(0);
    expect(mtls.stderr).toContain('mTLS strict on :15006');
    expect(mtls.stdout).toContain('secretName: web-tls');
  });

  it('an unknown sidecarctl.io annotation is an error at its line', async () => {
    const dir = tempDir();
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, readFileSync(WEB, 'utf8').replace('sidecarctl.io/retries', 'sidecarctl.io/retires'));
    const r = await run(['inject', file]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${file}:32: unknown annotation sidecarctl.io/retires`);
  });

  it('--check exits 1 when inject would change a file, 0 once injected', async () => {
    const dir = tempDir();
    const file = join(dir, 'web.yaml');
    copyFileSync(WEB, file);
    expect((await run(['inject', '--check', file])).exitCode).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe(readFileSync(WEB, 'utf8'));
    const inPlace = await run(['inject', '--in-place', file]);
    expect(inPlace.exitCode).toBe(0);
    expect(inPlace.stdout).toBe('');
    expect(readFileSync(file, 'utf8')).toContain('sidecarctl-envoy');
    expect((await run(['inject', '--check', file])).exitCode).toBe(0);
    expect(readdirSync(dir)).toEqual(['web.yaml']); // no temp file left behind
  });

  it('-o DIR writes one file per input; directories are read recursively', async () => {
    const out = tempDir();
    const r = await run(['inject', '-o', out + '/', join(ROOT, 'fixtures')]);
    expect(r.exitCode).toBe(0);
    expect(readdirSync(join(out, 'fixtures')).sort()).toEqual(['catalog.json', 'report-cronjob.yaml', 'shop.yaml', 'web.yaml']);
  });

  it('sidecarctl.io/inject: "false" skips the workload with a reason', async () => {
    const input = readFileSync(WEB, 'utf8').replace('sidecarctl.io/retries: "2"', 'sidecarctl.io/inject: "false"');
    const r = await run(['inject', '-'], input);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(input);
    expect(r.stderr).toContain('skipped  Deployment/shop/web');
    expect(r.stderr).toContain('disabled by sidecarctl.io/inject');
  });

  it('layers settings: defaults < profile < annotations < flags', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '.sidecarctl.yaml'), 'retries: 1\nrate-limit: 50\ntimeout: 3s\n');
    const withProfile = await run(['inject', WEB], undefined, dir);
    const envoy = (await withProfile).stdout;
    expect(envoy).toContain('num_retries: 2'); // the annotation beats the profile
    expect(envoy).toContain('max_tokens: 50'); // the profile beats the default
    expect(envoy).toContain('timeout: "3s"');
    const flagged = await run(['inject', '--rate-limit', '80', WEB], undefined, dir);
    expect(flagged.stdout).toContain('max_tokens: 80'); // the flag beats the profile
  });

  it('a bad profile value is reported at its line', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '.sidecarctl.yaml'), '# team defaults\nproxy: envoy\nretries: lots\n');
    const r = await run(['inject', WEB], undefined, dir);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${join(dir, '.sidecarctl.yaml')}:3: retries: "lots" is not a whole number`);
  });
});

describe('sidecarctl render', () => {
  it('prints the Envoy config alone, valid for Envoy', async () => {
    const r = await run(['render', 'envoy', '--app-port', '9000', '--upstream', 'db=db.svc:5432@15432']);
    expect(r.exitCode).toBe(0);
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  envoy.yaml: ${JSON.stringify(r.stdout)}\n`;
    expect((await envoyIssues(text)).issues).toEqual([]);
    expect(r.stdout).toContain('port_value: 9000');
    expect(r.stdout).toContain('outbound_db');
  });

  it('renders for a workload of PATH with its annotations', async () => {
    const r = await run(['render', 'envoy', WEB]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('port_value: 8080');
    expect(r.stdout).toContain('num_retries: 2'); // from the pod template's sidecarctl.io/retries
    expect(r.stdout).toContain('per_try_timeout: "0.500s"');
  });

  it('prints Fluent Bit YAML and Fluentd config for the chosen output, each valid for its agent', async () => {
    const fb = await run(['render', 'fluent-bit', WEB, '--log-output', 'loki://loki.monitoring:3100']);
    expect(fb.exitCode).toBe(0);
    expect(validateFluentBitConfig(parse(fb.stdout))).toEqual([]);
    expect(fb.stdout).toContain('name: loki');
    const fd = await run(['render', 'fluentd', WEB, '--log-output', 'es://es.logging:9200']);
    expect(fd.exitCode).toBe(0);
    expect(validateFluentdConfig(fd.stdout, FLUENTD_IMAGES.elasticsearch8.plugins)).toEqual([]);
    expect(fd.stdout).toContain('@type elasticsearch');
  });

  it('prints the bundled proxy config, accepted by the proxy', async () => {
    const r = await run(['render', 'proxy', WEB, '--rate-limit', '20']);
    expect(r.exitCode).toBe(0);
    const config = resolveConfig(JSON.parse(r.stdout));
    expect(config.listeners[0]).toMatchObject({ kind: 'inbound', target: { port: 8080 }, rateLimit: { rps: 20, burst: 20 } });
    expect(config.listeners[0]!.retries.attempts).toBe(3); // sidecarctl.io/retries: "2" on the pod template
  });

  it('unknown sidecar: exit 2', async () => {
    const r = await run(['render', 'nginx']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('unknown sidecar "nginx"');
  });
});

describe('sidecarctl proxy', () => {
  it('refuses a bad config with the offending paths, exit 2', async () => {
    const dir = tempDir();
    const config = join(dir, 'proxy.json');
    writeFileSync(config, JSON.stringify({ inbound: { port: 0 } }));
    const r = await run(['proxy', '--config', config]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`sidecarctl: ${config}: invalid proxy config: admin: is required`);
  });

  it('serves /ready and exits 0 on SIGTERM', async () => {
    const dir = tempDir();
    const config = join(dir, 'proxy.json');
    writeFileSync(config, JSON.stringify({ inbound: { port: 0, target: { host: '127.0.0.1', port: 9 } }, admin: { port: 0 } }));
    const child = execa('node', [BIN, 'proxy', '--config', config], { reject: false });
    const ready = await new Promise<string>((resolve) => {
      child.stderr!.on('data', (chunk: Buffer) => {
        const line = chunk.toString().split('\n').find((l) => l.includes('"ready"'));
        if (line) resolve(line);
      });
    });
    const admin = (JSON.parse(ready) as { admin: number }).admin;
    expect((await fetch(`http://127.0.0.1:${admin}/ready`)).status).toBe(200);
    child.kill('SIGTERM');
    expect((await child).exitCode).toBe(0);
  });
});

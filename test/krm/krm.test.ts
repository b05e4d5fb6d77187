/**
 * sidecarctl in the GitOps toolchain, against the real tools: kpt (fn eval --exec, fn render with a
 * Kptfile pipeline), kubectl's kustomize (an exec plugin with --enable-alpha-plugins), the KRM
 * ResourceList protocol itself, and the Helm post-renderer protocol (stdin to stdout, no TTY).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, schemaIssues } from '../helpers/corpus.js';

type Json = Record<string, any>;
const BIN = join(ROOT, 'bin/sidecarctl.js');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function temp(): string {
  const d = mkdtempSync(join(tmpdir(), 'sidecarctl-krm-'));
  dirs.push(d);
  return d;
}

function run(cmd: string, args: string[], input?: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A kpt package of the fixtures (kpt fn source reads it into a ResourceList). */
function pkg(...fixtures: string[]): string {
  const dir = join(temp(), 'pkg');
  mkdirSync(dir);
  for (const f of fixtures) cpSync(join(ROOT, 'fixtures', f), join(dir, f));
  return dir;
}

function objects(text: string): Json[] {
  return parseAllDocuments(text).flatMap((d) => (d.toJS() ? [d.toJS() as Json] : []));
}

/** Objects by Kind/namespace/name, without the tools' own bookkeeping annotations, for comparing outputs semantically. */
function byName(list: Json[]): Map<string, Json> {
  return new Map(
    list.map((o) => {
      const copy = structuredClone(o);
      const a = copy.metadata?.annotations;
      if (a) for (const k of Object.keys(a)) if (k.startsWith('config.kubernetes.io/') || k.startsWith('internal.config.kubernetes.io/')) delete a[k];
      if (a && Object.keys(a).length === 0) delete copy.metadata.annotations;
      return [`${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`, copy];
    }),
  );
}

function resourceList(items: string, functionConfig: string): string {
  return `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n${items}${functionConfig}`;
}

describe('KRM ResourceList protocol', () => {
  const items = execFileSync('kpt', ['fn', 'source', pkg('web.yaml')], { encoding: 'utf8' }).replace(/^apiVersion: config.kubernetes.io\/v1\nkind: ResourceList\n/, '');

  it('injects with the settings of a sidecarctl.io/v1 Inject, and reports as results', () => {
    const input = resourceList(items, 'functionConfig:\n  apiVersion: sidecarctl.io/v1\n  kind: Inject\n  metadata: {name: s}\n  spec:\n    upstream:\n    - api=api.default.svc:8080@19000\n');
    const r = run('node', [BIN], input);
    expect(r.code).toBe(0);
    const out = parse(r.stdout) as Json;
    expect(out.kind).toBe('ResourceList');
    const cm = out.items.find((i: Json) => i.kind === 'ConfigMap');
    // New objects go into their workload's file, at the next index there.
    expect(cm.metadata.annotations).toMatchObject({ 'config.kubernetes.io/path': 'web.yaml', 'config.kubernetes.io/index': '2' });
    expect(cm.data['envoy.yaml']).toContain('outbound_api');
    // Every item is valid for the API (the bookkeeping annotations are ordinary annotations).
    expect(schemaIssues(out.items.map((i: Json) => JSON.stringify(i)).join('\n---\n'))).toEqual([]);
    for (const result of out.results) {
      expect(['error', 'warning', 'info']).toContain(result.severity);
      expect(typeof result.message).toBe('string');
    }
    const messages = out.results.map((x: Json) => `${x.severity} ${x.resourceRef?.kind}/${x.resourceRef?.name}: ${x.message}`);
    expect(messages).toContain('info Deployment/web: injected');
    expect(messages).toContain('info Deployment/web: outbound 127.0.0.1:19000 -> api.default.svc:8080');
    // Comments of the items survive (the input's text is edited, not re-printed).
    expect(r.stdout).toContain('# per-workload settings override the profile and defaults');
  });

  it('takes a ConfigMap functionConfig with string values, as kpt allows', () => {
    const input = resourceList(items, 'functionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: s}\n  data:\n    proxy: bundled\n    rate-limit: "50"\n');
    const r = run('node', [BIN], input);
    expect(r.code).toBe(0);
    const cm = (parse(r.stdout) as Json).items.find((i: Json) => i.kind === 'ConfigMap');
    expect(JSON.parse(cm.data['proxy.json']).inbound.rateLimit).toEqual({ rps: 50, burst: 50 });
  });

  it('a bad setting is exit 2, with the error as a result pointing at its line of the input', () => {
    const input = resourceList(items, 'functionConfig:\n  apiVersion: sidecarctl.io/v1\n  kind: Inject\n  metadata: {name: s}\n  spec:\n    retries: lots\n');
    const r = run('node', [BIN], input);
    expect(r.code).toBe(2);
    const line = input.split('\n').findIndex((l) => l.includes('retries: lots')) + 1;
    expect(r.stderr).toContain(`<stdin>:${line}: retries:`);
    const result = (parse(r.stdout) as Json).results[0];
    expect(result).toMatchObject({ severity: 'error', tags: { line: String(line) } });
  });

  it('Lint reports findings as results (with the file of the item) and exits 1 on errors', () => {
    const injected = run('node', [BIN, 'inject', '-'], resourceList(items, '')).stdout;
    // Break the injected pod: point the Service back at the app port, around the proxy.
    const broken = injected.replace('targetPort: 15006', 'targetPort: 8080');
    const r = run('node', [BIN, 'lint', '-'], broken);
    expect(r.code).toBe(1);
    const results = (parse(r.stdout) as Json).results as Json[];
    const bypass = results.find((x) => x.tags?.rule === 'service-bypass')!;
    expect(bypass).toMatchObject({ severity: 'error', resourceRef: { kind: 'Service', name: 'web' }, file: { path: 'web.yaml' } });
  });

  it('Uninject gives back the items', () => {
    const injected = run('node', [BIN], resourceList(items, '')).stdout;
    const r = run('node', [BIN], injected.replace(/^results:[\s\S]*$/m, '') + 'functionConfig:\n  apiVersion: sidecarctl.io/v1\n  kind: Uninject\n  metadata: {name: s}\n');
    expect(r.code).toBe(0);
    expect(r.stdout.replace(/^results:[\s\S]*$/m, '').replace(/^functionConfig:[\s\S]*$/m, '')).toBe(resourceList(items, ''));
  });
});

describe('kpt', () => {
  it('kpt fn eval --exec injects a package: comments and order kept, results shown, re-running changes nothing, Uninject restores it', () => {
    const dir = pkg('web.yaml', 'shop.yaml');
    // kpt re-prints the files it writes: the baseline is the package after a function that changes nothing.
    const baseline = pkg('web.yaml', 'shop.yaml');
    run('kpt', ['fn', 'eval', baseline, '--exec', 'cat']);
    const r = run('kpt', ['fn', 'eval', dir, '--exec', BIN, '--truncate-output=false', '--', 'retries=3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('[info] Deployment/shop/catalog: :9090 grpc (appProtocol) -> proxy :15007');
    const web = readFileSync(join(dir, 'web.yaml'), 'utf8');
    expect(web).toContain('# per-workload settings override the profile and defaults');
    expect(objects(web).map((o) => o.kind)).toEqual(['Service', 'Deployment', 'ConfigMap']);
    expect(readdirSync(dir).sort()).toEqual(['shop.yaml', 'web.yaml']); // new objects beside their workloads
    const once = Object.fromEntries(['web.yaml', 'shop.yaml'].map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
    expect(run('kpt', ['fn', 'eval', dir, '--exec', BIN, '--', 'retries=3']).code).toBe(0);
    for (const f of ['web.yaml', 'shop.yaml']) expect(readFileSync(join(dir, f), 'utf8'), f).toBe(once[f]);
    const config = join(temp(), 'uninject.yaml');
    writeFileSync(config, 'apiVersion: sidecarctl.io/v1\nkind: Uninject\nmetadata:\n  name: remove\n');
    expect(run('kpt', ['fn', 'eval', dir, '--exec', BIN, '--fn-config', config]).code).toBe(0);
    for (const f of ['web.yaml', 'shop.yaml']) expect(readFileSync(join(dir, f), 'utf8'), f).toBe(readFileSync(join(baseline, f), 'utf8'));
  });

  it('a Kptfile pipeline (kpt fn render) runs it with a ConfigMap functionConfig', () => {
    const dir = pkg('web.yaml');
    writeFileSync(join(dir, 'Kptfile'), `apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: shop\npipeline:\n  mutators:\n  - exec: ${BIN}\n    configMap:\n      proxy: bundled\n`);
    const r = run('kpt', ['fn', 'render', dir, '--allow-exec']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('[info] Deployment/shop/web: injected');
    const cm = objects(readFileSync(join(dir, 'web.yaml'), 'utf8')).find((o) => o.kind === 'ConfigMap')!;
    expect(Object.keys(cm.data).sort()).toEqual(['proxy-bundle.mjs', 'proxy.json']);
  });
});

describe('kustomize (kubectl kustomize --enable-alpha-plugins)', () => {
  /** A plugin home with sidecarctl linked in as the Inject plugin, as README says to set it up. */
  function pluginHome(): string {
    const home = temp();
    mkdirSync(join(home, 'sidecarctl.io/v1/inject'), { recursive: true });
    symlinkSync(BIN, join(home, 'sidecarctl.io/v1/inject/Inject'));
    return home;
  }

  function withTransformer(dir: string, spec = ''): void {
    writeFileSync(join(dir, 'sidecarctl.yaml'), `apiVersion: sidecarctl.io/v1\nkind: Inject\nmetadata:\n  name: sidecars\n${spec}`);
    const k = join(dir, 'kustomization.yaml');
    writeFileSync(k, `${readFileSync(k, 'utf8').trimEnd()}\ntransformers:\n- sidecarctl.yaml\n`);
  }

  it('a base + overlay with the transformer gives what kubectl kustomize | sidecarctl inject - gives', () => {
    const root = temp();
    mkdirSync(join(root, 'base'));
    mkdirSync(join(root, 'overlay'));
    cpSync(join(ROOT, 'fixtures/shop.yaml'), join(root, 'base/shop.yaml'));
    writeFileSync(join(root, 'base/kustomization.yaml'), 'resources:\n- shop.yaml\n');
    writeFileSync(join(root, 'overlay/kustomization.yaml'), 'resources:\n- ../base\nnamePrefix: prod-\ncommonLabels:\n  env: prod\n');
    const plain = execFileSync('kubectl', ['kustomize', join(root, 'overlay')], { encoding: 'utf8' });
    const piped = run('node', [BIN, 'inject', '-', '--retries', '2', '--per-try-timeout', '300ms'], plain);
    expect(piped.code).toBe(0);
    withTransformer(join(root, 'overlay'), 'spec:\n  retries: 2\n  per-try-timeout: 300ms\n');
    const r = run('kubectl', ['kustomize', '--enable-alpha-plugins', join(root, 'overlay')], undefined, { KUSTOMIZE_PLUGIN_HOME: pluginHome() });
    expect(r.code, r.stderr).toBe(0);
    const viaTransformer = byName(objects(r.stdout));
    const viaPipe = byName(objects(piped.stdout));
    expect([...viaTransformer.keys()].sort()).toEqual([...viaPipe.keys()].sort());
    for (const [k, v] of viaPipe) expect(viaTransformer.get(k), k).toEqual(v);
    expect(viaTransformer.get('ConfigMap/shop/prod-catalog-sidecarctl')).toBeDefined();
  });

  it('the corpus kustomize tree (metrics-server overlays) builds and injects', () => {
    const tree = join(temp(), 'metrics-server');
    cpSync(join(ROOT, '../shared/corpus/kustomize/metrics-server'), tree, { recursive: true });
    const overlays = readdirSync(join(tree, 'overlays'));
    expect(overlays.length).toBeGreaterThan(3);
    const home = pluginHome();
    for (const o of overlays) {
      const dir = join(tree, 'overlays', o);
      const plain = run('kubectl', ['kustomize', dir]);
      expect(plain.code, `${o}: ${plain.stderr}`).toBe(0);
      withTransformer(dir);
      const r = run('kubectl', ['kustomize', '--enable-alpha-plugins', dir], undefined, { KUSTOMIZE_PLUGIN_HOME: home });
      expect(r.code, `${o}: ${r.stderr}`).toBe(0);
      const deployment = objects(r.stdout).find((x) => x.kind === 'Deployment' && x.metadata.name === 'metrics-server')!;
      expect(deployment.spec.template.spec.initContainers.map((c: Json) => c.name), o).toContain('sidecarctl-envoy');
      const piped = byName(objects(run('node', [BIN, 'inject', '-'], plain.stdout).stdout));
      const viaTransformer = byName(objects(r.stdout));
      for (const [k, v] of piped) expect(viaTransformer.get(k), `${o} ${k}`).toEqual(v);
    }
  });
});

describe('Helm post-renderer protocol', () => {
  // What `helm template` renders for the chart `helm create shop` makes (release "release").
  const rendered = readFileSync(join(ROOT, 'test/krm/fixtures/helm-create.rendered.yaml'), 'utf8');

  it('as Helm 3 calls it (--post-renderer sidecarctl --post-renderer-args inject): stream in, stream out, # Source: kept, uninject exact', () => {
    // Helm runs the binary with the args, the rendered stream on stdin, no TTY, and reads stdout.
    const r = run(BIN, ['inject'], rendered);
    expect(r.code, r.stderr).toBe(0);
    for (const source of rendered.match(/^# Source: .*$/gm)!) expect(r.stdout).toContain(source);
    expect(objects(r.stdout).map((o) => o.kind)).toEqual(['ServiceAccount', 'Service', 'ConfigMap', 'Deployment', 'Pod']);
    expect(schemaIssues(r.stdout)).toEqual([]);
    // The chart's test pod carries the same labels, but it is no endpoint of the named port: the Service is re-pointed.
    expect(objects(r.stdout).find((o) => o.kind === 'Service')!.spec.ports[0].targetPort).toBe(15006);
    expect(r.stderr).toContain('injected Deployment/release-shop <stdin>');
    expect(r.stdout).not.toContain('injected Deployment');
    expect(run(BIN, ['uninject'], r.stdout).stdout).toBe(rendered);
  });
});

/** Planted defects: each must be found by its rule at the exact line, and nothing else reported. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLintConfig } from '../../src/lint/config.js';
import { RULE_IDS } from '../../src/lint/registry.js';
import { runInjection } from '../../src/inject/run.js';
import { parseSource } from '../../src/manifest/source.js';
import { ROOT } from '../helpers/corpus.js';
import { lintFile, lintText, markers } from './helpers.js';

const FIXTURES = ['hand-written.yaml', 'settings.yaml', 'ports.yaml'].map((f) => join(ROOT, 'test/lint/fixtures', f));

describe('planted defects', () => {
  for (const path of FIXTURES) {
    it(`${path.split('/').pop()}: every marked line, and only those`, async () => {
      const expected = markers(readFileSync(path, 'utf8'));
      expect(expected.length).toBeGreaterThan(3);
      const findings = await lintFile(path);
      expect(findings.map((f) => `${f.line} ${f.rule}`).sort()).toEqual(expected.sort());
      for (const f of findings) expect(f.col).toBeGreaterThan(0);
    });
  }

  it('points inside an embedded Envoy config at the offending key, column included', async () => {
    const path = FIXTURES[0]!;
    const lines = readFileSync(path, 'utf8').split('\n');
    const finding = (await lintFile(path)).find((f) => f.rule === 'envoy-config')!;
    expect(lines[finding.line - 1]!.slice(finding.col - 1)).toMatch(/^timeoutt:/);
  });

  it('covers every rule but the ones that need an injected manifest', async () => {
    const found = new Set(FIXTURES.flatMap((p) => markers(readFileSync(p, 'utf8')).map((m) => m.split(' ')[1])));
    const missing = RULE_IDS.filter((id) => !found.has(id));
    // Tested below on real inject output; k8s-schema and the other config kinds in lint.test.ts.
    // port-bypass: test/inject/multiport.test.ts, on the bundled proxy's output; the network rules
    // (policy-blocks-proxy, open-app-port, public-strict): test/lint/network.test.ts.
    expect(missing.sort()).toEqual(['config-hash', 'fluentd-config', 'inject-drift', 'k8s-schema', 'port-bypass', 'proxy-config', 'sidecar-resources', 'policy-blocks-proxy', 'open-app-port', 'public-strict'].sort());
  });
});

describe('lint-ignore and the lint: section', () => {
  const path = FIXTURES[0]!;
  const text = readFileSync(path, 'utf8');

  it('the per-container ignore hides exactly that container\'s finding', async () => {
    const unignored = text.replace('sidecarctl.io/lint-ignore: sidecar-resources@log-shipper', 'sidecarctl.io/lint-ignore: sidecar-resources@nothing');
    const findings = await lintText(path, unignored);
    const resources = findings.filter((f) => f.rule === 'sidecar-resources');
    expect(resources.map((f) => f.container)).toEqual(['log-shipper']);
  });

  it('disable, severity and ignore paths from the profile', async () => {
    const config = parseLintConfig({ disable: ['image-tag'], rules: { 'port-collision': 'warning', 'missing-reference': 'off' } }, join(ROOT, '.sidecarctl.yaml'), RULE_IDS);
    const findings = await lintText(path, text, config);
    expect(findings.some((f) => f.rule === 'image-tag' || f.rule === 'missing-reference')).toBe(false);
    expect(findings.find((f) => f.rule === 'port-collision')?.severity).toBe('warning');
    const ignoring = parseLintConfig({ ignore: ['test/lint/fixtures/*.yaml'] }, join(ROOT, '.sidecarctl.yaml'), RULE_IDS);
    const { isIgnoredPath } = await import('../../src/lint/config.js');
    expect(isIgnoredPath(ignoring, path)).toBe(true);
    expect(isIgnoredPath(ignoring, join(ROOT, 'fixtures/web.yaml'))).toBe(false);
  });

  it('refuses an unknown rule in the profile', () => {
    expect(() => parseLintConfig({ disable: ['image-tags'] }, '.sidecarctl.yaml', RULE_IDS)).toThrow(/unknown rule "image-tags"/);
  });
});

describe('injected manifests', () => {
  const web = join(ROOT, 'fixtures/web.yaml');
  const injected = runInjection([parseSource(web, readFileSync(web, 'utf8'))], { mode: 'inject', profile: [], flags: [] }).files[0]!.text;

  it('inject output lints clean', async () => {
    expect(await lintText('web.injected.yaml', injected)).toEqual([]);
  });

  it('an Envoy config edited by hand: the hash no longer matches, and inject would change the file', async () => {
    const edited = injected.replace('stat_prefix: "inbound"\n', 'stat_prefix: "inbound_edited"\n');
    expect(edited).not.toBe(injected);
    const findings = await lintText('web.injected.yaml', edited);
    const lines = edited.split('\n');
    const hash = findings.find((f) => f.rule === 'config-hash')!;
    expect(lines[hash.line - 1]).toContain('sidecarctl.io/config-hash:');
    const drift = findings.find((f) => f.rule === 'inject-drift')!;
    expect(lines[drift.line - 1]).toContain('stat_prefix: "inbound_edited"');
    expect(findings.map((f) => f.rule).sort()).toEqual(['config-hash', 'inject-drift']);
  });

  it('a sidecar container edited by hand changes the hash too', async () => {
    const edited = injected.replace("memory: 256Mi", 'memory: 512Mi');
    const rules = (await lintText('web.injected.yaml', edited)).map((f) => f.rule);
    expect(rules).toContain('config-hash');
  });
});

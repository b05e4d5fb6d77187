/**
 * lint's network rules on inject's own output and on that output gone stale: a NetworkPolicy that
 * lets the app port in but not the proxy's listener (policy-blocks-proxy), a strict workload no
 * policy closes (open-app-port), a public Service on a listener that demands a client certificate
 * (public-strict). Fresh output is clean; each planted mistake is found at its line.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SettingsLayer } from '../../src/settings/resolve.js';
import { inject, load, ROOT } from '../helpers/corpus.js';
import { lintText } from './helpers.js';
import { parseSource } from '../../src/manifest/source.js';

const flags = (...pairs: [string, string | boolean][]): SettingsLayer => pairs.map(([key, value]) => ({ key, value, flag: `--${key}` }));
const STRICT = flags(['mtls', 'strict'], ['mtls-issuer', 'mesh-ca']);
const NETWORK_RULES = new Set(['policy-blocks-proxy', 'open-app-port', 'public-strict']);
const GRAFANA = join(ROOT, 'test/network/fixtures/grafana-policy.yaml');
const FRONTEND = join(ROOT, 'test/network/fixtures/lb-frontend.yaml');

async function networkFindings(path: string, text: string): Promise<string[]> {
  return (await lintText(path, text)).filter((f) => NETWORK_RULES.has(f.rule)).map((f) => `${f.line} ${f.rule}`);
}

/** 1-based line of the n-th line equal to `line` (trimmed end). */
function lineOf(text: string, line: string, nth = 0): number {
  const hits = text.split('\n').flatMap((l, i) => (l.trimEnd() === line ? [i + 1] : []));
  expect(hits.length).toBeGreaterThan(nth);
  return hits[nth]!;
}

describe('policy-blocks-proxy', () => {
  for (const [mode, layer] of [['off', flags()], ['strict', STRICT]] as const) {
    it(`inject's output (--mtls ${mode}) is clean; the same with the listener entries taken out of the policies is an error at each rule's ports`, async () => {
      const out = inject(load(GRAFANA), layer).files[0]!.text;
      expect(await networkFindings(GRAFANA, out)).toEqual([]);
      const stale = out.replace('    - port: 15006\n      protocol: TCP\n', '').replace('    - port: 15006\n', '').replace('    - protocol: TCP\n      port: 15006\n', '');
      expect(stale).not.toContain('15006\n      protocol');
      const policies = stale.slice(stale.indexOf('kind: NetworkPolicy'));
      const offset = stale.slice(0, stale.indexOf('kind: NetworkPolicy')).split('\n').length - 1;
      // grafana ingress[0], ingress[1]; prometheus-egress egress[0] (its egress[1] is DNS: not ours)
      const expected = [0, 1, 2].map((n) => `${offset + lineOf(policies, '    ports:', n)} policy-blocks-proxy`);
      expect((await networkFindings(GRAFANA, stale)).sort()).toEqual(expected.sort());
    });
  }

  it('the raw input (nothing injected) is not judged: its policies fit its Services', async () => {
    expect(await networkFindings(GRAFANA, load(GRAFANA).text)).toEqual([]);
  });
});

describe('open-app-port', () => {
  it('is quiet when inject adds the policy (the default with --mtls strict), and warns at each workload with --no-network-policy', async () => {
    const closed = inject(load(FRONTEND), STRICT).files[0]!.text;
    expect(await networkFindings(FRONTEND, closed)).toEqual([]);
    const open = inject(load(FRONTEND), [...STRICT, ...flags(['network-policy', false])]).files[0]!.text;
    const found = (await lintText(FRONTEND, open)).filter((f) => f.rule === 'open-app-port');
    expect(found.map((f) => f.severity)).toEqual(['warning', 'warning']);
    const lines = open.split('\n');
    expect(found.map((f) => `${lines[f.line - 1]} ${lines[f.line]!.trim()}`).sort()).toEqual(['metadata: name: api', 'metadata: name: frontend']);
    expect(found[0]!.message).toMatch(/take plaintext from other pods/);
  });

  it('is quiet without strict mTLS', async () => {
    const out = inject(load(FRONTEND), flags()).files[0]!.text;
    expect(await networkFindings(FRONTEND, out)).toEqual([]);
  });
});

/** The input without its Ingress document: api is then internal. */
function withoutIngress(text: string): string {
  const docs = text.split('\n---\n');
  expect(docs.filter((d) => d.includes('kind: Ingress')).length).toBe(1);
  return docs.filter((d) => !d.includes('kind: Ingress')).join('\n---\n');
}

describe('public-strict', () => {
  it("is quiet on inject's edge listeners; a Service made public after a strict injection is an error at its targetPort", async () => {
    const out = inject(load(FRONTEND), STRICT).files[0]!.text;
    expect(await networkFindings(FRONTEND, out)).toEqual([]);
    // api was injected as internal (its Ingress removed): strict listeners; then someone makes its Service a LoadBalancer.
    const internal = withoutIngress(load(FRONTEND).text);
    expect(internal).toContain('name: api');
    const injected = inject(parseSource(FRONTEND, internal), STRICT).files[0]!.text;
    expect(await networkFindings(FRONTEND, injected)).toEqual([]);
    const serviceAt = injected.indexOf('  name: api\n', injected.indexOf('kind: Service\nmetadata:\n  name: api'));
    const madePublic = injected.slice(0, serviceAt) + injected.slice(serviceAt).replace('spec:\n', 'spec:\n  type: LoadBalancer\n');
    const found = (await lintText(FRONTEND, madePublic)).filter((f) => f.rule === 'public-strict');
    const lines = madePublic.split('\n');
    expect(found.length).toBe(2); // http and admin: both land on strict listeners
    for (const f of found) expect(lines[f.line - 1]).toMatch(/^\s+targetPort: 150\d\d$/);
    expect(found[0]!.message).toMatch(/LoadBalancer Service\/api port 80 .* demands a client certificate/);
  });

  it('the bundled proxy: the same Service made public lands on a strict listener of proxy.json', async () => {
    const internal = withoutIngress(load(FRONTEND).text);
    const injected = inject(parseSource(FRONTEND, internal), [...STRICT, ...flags(['proxy', 'bundled'])]).files[0]!.text;
    expect(await networkFindings(FRONTEND, injected)).toEqual([]);
    const serviceAt = injected.indexOf('kind: Service\nmetadata:\n  name: api');
    const madePublic = injected.slice(0, serviceAt) + injected.slice(serviceAt).replace('spec:\n', 'spec:\n  type: NodePort\n');
    const found = (await lintText(FRONTEND, madePublic)).filter((f) => f.rule === 'public-strict');
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]!.message).toMatch(/NodePort Service\/api .*\(proxy\.json at line \d+\)/);
  });
});

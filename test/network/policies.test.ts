/**
 * NetworkPolicies of the input after inject: a rule that lets app port X into an injected pod lets
 * the proxy's listener for X in beside it (same peers), by number and by port name; a client's
 * egress rule to the pod gets the same; uninject restores every byte; inject is idempotent.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSource } from '../../src/manifest/source.js';
import type { SettingsLayer } from '../../src/settings/resolve.js';
import { entryAllows, policyTypes } from '../../src/network/policies.js';
import { namespaceMayMatch, selectorMatches } from '../../src/network/selectors.js';
import { inject, load, objectsOfText, ROOT, schemaIssues, uninject } from '../helpers/corpus.js';

type Json = Record<string, any>;
const flags = (...pairs: [string, string | boolean][]): SettingsLayer => pairs.map(([key, value]) => ({ key, value, flag: `--${key}` }));
const GRAFANA = join(ROOT, 'test/network/fixtures/grafana-policy.yaml');

function policy(out: string, name: string): Json {
  return objectsOfText(out).find((o) => o.kind === 'NetworkPolicy' && (o.metadata as Json).name === name) as Json;
}

describe('selectors', () => {
  it('match labels and expressions as the API does', () => {
    expect(selectorMatches({}, { a: '1' })).toBe(true);
    expect(selectorMatches(undefined, { a: '1' })).toBe(false);
    expect(selectorMatches({ matchLabels: { a: '1' } }, { a: '1', b: '2' })).toBe(true);
    expect(selectorMatches({ matchLabels: { a: '2' } }, { a: '1' })).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '3'] }] }, { a: '1' })).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, { a: '1' })).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'b', operator: 'DoesNotExist' }] }, { a: '1' })).toBe(true);
    expect(namespaceMayMatch({ matchLabels: { 'kubernetes.io/metadata.name': 'shop' } }, 'monitoring')).toBe(false);
    expect(namespaceMayMatch({ matchLabels: { team: 'x' } }, 'monitoring')).toBe(true);
  });

  it('read ports entries: numbers, ranges, names, protocols', () => {
    expect(entryAllows({ port: 3000 }, 3000)).toBe(true);
    expect(entryAllows({ port: 3000, protocol: 'UDP' }, 3000)).toBe(false);
    expect(entryAllows({ port: 3000, endPort: 3010 }, 3005)).toBe(true);
    expect(entryAllows({ port: 'http' }, 3000, 'http')).toBe(true);
    expect(entryAllows({ port: 'http' }, 3000)).toBe(false);
    expect(entryAllows({ protocol: 'TCP' }, 15006)).toBe(true);
    expect(policyTypes({ spec: { egress: [] } })).toEqual(['ingress', 'egress']);
    expect(policyTypes({ spec: { policyTypes: ['Egress'] } })).toEqual(['egress']);
  });
});

describe.each([
  ['off', flags()],
  ['strict', flags(['mtls', 'strict'], ['mtls-issuer', 'mesh-ca'])],
])('a workload with its NetworkPolicies, --mtls %s', (_mode, layer) => {
  const source = load(GRAFANA);
  const result = inject(source, layer);
  const out = result.files[0]!.text;

  it('lets the listener in beside the app port, in the same rules', () => {
    const ingress = policy(out, 'grafana').spec.ingress;
    expect(ingress[0].ports).toEqual([{ port: 3000, protocol: 'TCP' }, { port: 15006, protocol: 'TCP' }]);
    expect(ingress[0].from).toEqual([{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }]);
    expect(ingress[1].ports).toEqual([{ port: 'http' }, { port: 15006 }]);
    const egress = policy(out, 'prometheus-egress').spec.egress;
    expect(egress[0].ports).toEqual([{ protocol: 'TCP', port: 3000 }, { protocol: 'TCP', port: 15006 }]);
    // A rule of other ports is left alone.
    expect(egress[1].ports).toEqual([{ port: 53, protocol: 'UDP' }]);
    const notes = result.reports[0]!.notes;
    expect(notes).toContain('NetworkPolicy/monitoring/grafana ingress[1]: allows 15006 beside http (3000) (same peers)');
    expect(notes.some((n) => n.startsWith("clients' egress NetworkPolicies not in the input"))).toBe(true);
  });

  it('is schema-valid, idempotent and undone byte for byte', () => {
    expect(schemaIssues(out)).toEqual([]);
    expect(inject(parseSource(GRAFANA, out), layer).files[0]!.text).toBe(out);
    expect(uninject(parseSource(GRAFANA, out)).files[0]!.text).toBe(source.text);
  });
});

describe('--network-policy (on with --mtls strict)', () => {
  const SHOP = join(ROOT, 'fixtures/shop.yaml');
  const strict = flags(['mtls', 'strict'], ['mtls-issuer', 'mesh-ca']);
  const source = load(SHOP);
  const out = inject(source, strict).files[0]!.text;
  const ours = objectsOfText(out).filter((o) => o.kind === 'NetworkPolicy') as Json[];

  it('adds one per workload that lets other pods reach only the proxy, its metrics and the unproxied ports', () => {
    expect(ours.map((p) => p.metadata.name)).toEqual(['catalog-sidecarctl', 'redis-sidecarctl', 'mysql-sidecarctl', 'gateway-sidecarctl']);
    const catalog = ours[0]!;
    expect(catalog.spec.policyTypes).toEqual(['Ingress']);
    expect(catalog.spec.ingress).toHaveLength(1);
    const ports: Json[] = catalog.spec.ingress[0].ports;
    const shop = objectsOfText(source.text).find((o) => o.kind === 'Deployment' && (o.metadata as Json).name === 'catalog') as Json;
    const appPorts: Json[] = shop.spec.template.spec.containers.flatMap((c: Json) => c.ports ?? []);
    // Every TCP app port is closed (only its listener is open), UDP ones stay open.
    for (const p of appPorts) {
      const open = ports.some((e) => e.port === p.containerPort && e.protocol === (p.protocol ?? 'TCP'));
      expect(open, `:${p.containerPort}`).toBe((p.protocol ?? 'TCP') !== 'TCP');
    }
    expect(ports).toContainEqual({ protocol: 'TCP', port: 15090 });
    expect(catalog.spec.podSelector.matchLabels).toEqual(shop.spec.template.metadata.labels);
  });

  it('is schema-valid, removed by uninject, and left out with --no-network-policy or without strict', () => {
    expect(schemaIssues(out)).toEqual([]);
    expect(inject(parseSource(SHOP, out), strict).files[0]!.text).toBe(out);
    expect(uninject(parseSource(SHOP, out)).files[0]!.text).toBe(source.text);
    const off = inject(source, [...strict, { key: 'network-policy', value: false, flag: '--no-network-policy' }]).files[0]!.text;
    expect(objectsOfText(off).filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
    const permissive = inject(source, flags(['mtls', 'permissive'], ['mtls-issuer', 'mesh-ca'])).files[0]!.text;
    expect(objectsOfText(permissive).filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
  });

  it('amends the input policies instead of adding one when they select the pod', () => {
    const result = inject(load(GRAFANA), strict);
    expect(objectsOfText(result.files[0]!.text).filter((o) => o.kind === 'NetworkPolicy').map((o) => (o.metadata as Json).name)).toEqual(['grafana', 'prometheus-egress']);
    expect(result.reports[0]!.notes.some((n) => n.startsWith('NetworkPolicy/monitoring/grafana already select these pods: amended'))).toBe(true);
  });
});

describe('a policy whose ports list is shared through an anchor', () => {
  const file = join(ROOT, 'test/network/fixtures/anchored-policy.yaml');

  it('is left alone with the reason at the alias, and nothing claims it was amended; the rest round-trips', () => {
    const source = load(file);
    const result = inject(source, flags());
    const out = result.files[0]!.text;
    const skipped = result.reports.find((r) => r.object === 'NetworkPolicy/ns/a')!;
    expect(skipped).toMatchObject({ action: 'skipped', skip: 'shared-anchor' });
    expect(source.text.split('\n')[skipped.line - 1]).toMatch(/ports: \*p|ports: &p|- port: 8080/);
    const web = result.reports.find((r) => r.object === 'Deployment/ns/web')!;
    expect(web.notes.filter((n) => n.startsWith('NetworkPolicy/ns/a'))).toEqual([]);
    expect(policy(out, 'a').spec.ingress[0].ports).toEqual([{ port: 8080 }]);
    expect(inject(parseSource(file, out), flags()).files[0]!.text).toBe(out);
    expect(uninject(parseSource(file, out)).files[0]!.text).toBe(source.text);
  });
});

describe('uninject after the policy was edited by hand', () => {
  it("takes out inject's entries by their ports, not by where they were: an entry the user added above them stays, and so does the user's own", () => {
    const source = load(GRAFANA);
    const out = inject(source, flags(['mtls', 'strict'], ['mtls-issuer', 'mesh-ca'])).files[0]!.text;
    const anchor = '    ports:\n    - port: 3000\n      protocol: TCP\n';
    expect(out).toContain(anchor);
    const edited = out.replace(anchor, '    ports:\n    - port: 9090\n' + anchor.slice('    ports:\n'.length));
    const back = uninject(parseSource(GRAFANA, edited)).files[0]!.text;
    expect(back).toBe(source.text.replace(anchor, '    ports:\n    - port: 9090\n' + anchor.slice('    ports:\n'.length)));
  });
});

/**
 * Services the internet reaches (LoadBalancer, an Ingress backend) are never sent to a listener
 * that demands a client certificate, under strict mTLS: Envoy gets an edge chain (TLS without
 * require_client_certificate, plus plaintext), the bundled proxy a listener without mTLS; the
 * internal ports stay strict. Headless Services are re-pointed like any other, and said so.
 */
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseSource } from '../../src/manifest/source.js';
import type { SettingsLayer } from '../../src/settings/resolve.js';
import { resolveConfig } from '../../src/proxy/config.js';
import { emptyConfig } from '../../src/lint/config.js';
import { envoyIssues, inject, load, objectsOfText, ROOT, schemaIssues, uninject } from '../helpers/corpus.js';
import { lint } from '../lint/helpers.js';

type Json = Record<string, any>;
const flags = (...pairs: [string, string][]): SettingsLayer => pairs.map(([key, value]) => ({ key, value, flag: `--${key}` }));
const strict = flags(['mtls', 'strict'], ['mtls-issuer', 'mesh-ca'], ['rate-limit', '100']);
const FRONTEND = join(ROOT, 'test/network/fixtures/lb-frontend.yaml');
const HEADLESS = join(ROOT, 'test/network/fixtures/headless-sts.yaml');

function configOf(out: string, workload: string, key: string): string {
  const cm = objectsOfText(out).find((o) => o.kind === 'ConfigMap' && (o.metadata as Json).name === `${workload}-sidecarctl`) as Json;
  return cm.data[key];
}

function chainsOf(envoy: Json, port: number): Json[] {
  return envoy.static_resources.listeners.find((l: Json) => l.address.socket_address.port_value === port).filter_chains;
}

function requiresCert(chain: Json): boolean | undefined {
  return chain.transport_socket?.typed_config.require_client_certificate;
}

describe('public Services under --mtls strict (Envoy)', () => {
  const source = load(FRONTEND);
  const result = inject(source, strict);
  const out = result.files[0]!.text;

  it('gives the LoadBalancer and Ingress ports an edge listener, the internal port a strict one', () => {
    const frontend = parse(configOf(out, 'frontend', 'envoy.yaml'));
    const edge = chainsOf(frontend, 15006);
    expect(edge.map((c) => [c.name, requiresCert(c)])).toEqual([['edge_tls', false], ['plaintext', undefined]]);
    // Rate limit and access log are kept on the edge.
    const hcm = edge[1]!.filters[0].typed_config;
    expect(hcm.access_log.length).toBeGreaterThan(0);
    expect(hcm.http_filters.map((f: Json) => f.name)).toContain('envoy.filters.http.local_ratelimit');
    const api = parse(configOf(out, 'api', 'envoy.yaml'));
    expect(chainsOf(api, 15006).some((c) => requiresCert(c) === true)).toBe(false);
    expect(chainsOf(api, 15007).every((c) => requiresCert(c) === true)).toBe(true);
    const notes = result.reports.flatMap((r) => r.notes);
    expect(notes.some((n) => n.startsWith(':15006 is reached from outside the cluster (LoadBalancer Service/frontend-external): an edge listener'))).toBe(true);
    expect(notes.some((n) => n.startsWith(':15006 is reached from outside the cluster (Service/api, backend of Ingress/api)'))).toBe(true);
  });

  it('is valid for Envoy and the API, lint-clean, idempotent and reversible', async () => {
    expect(schemaIssues(out)).toEqual([]);
    expect(await envoyIssues(out)).toEqual({ configs: 2, issues: [] });
    expect(await lint([parseSource('lb.injected.yaml', out)], emptyConfig(), strict)).toEqual([]);
    expect(inject(parseSource(FRONTEND, out), strict).files[0]!.text).toBe(out);
    expect(uninject(parseSource(FRONTEND, out)).files[0]!.text).toBe(source.text);
  });

  it('--public-mtls permissive: mTLS or plaintext on the public port', () => {
    const permissive = inject(source, [...strict, ...flags(['public-mtls', 'permissive'])]).files[0]!.text;
    const edge = chainsOf(parse(configOf(permissive, 'frontend', 'envoy.yaml')), 15006);
    expect(edge.map((c) => [c.name, requiresCert(c)])).toEqual([['mtls', true], ['plaintext', undefined]]);
  });
});

describe('public Services under --mtls strict (bundled proxy)', () => {
  const layer = [...strict, ...flags(['proxy', 'bundled'])];
  const out = inject(load(FRONTEND), layer).files[0]!.text;

  it('writes no client-certificate mTLS on the public listener, strict on the internal one, and the proxy accepts it', () => {
    const api = JSON.parse(configOf(out, 'api', 'proxy.json'));
    const byPort = new Map(api.inbound.map((l: Json) => [l.port, l]));
    expect((byPort.get(15006) as Json).mtls).toBeUndefined();
    expect((byPort.get(15007) as Json).mtls.mode).toBe('strict');
    const resolved = resolveConfig(api, 'proxy.json');
    expect(resolved.listeners.filter((l) => l.kind === 'inbound').map((l) => [l.port, l.mtls?.mode ?? 'off'])).toEqual([[15006, 'off'], [15007, 'strict']]);
  });
});

describe('a headless StatefulSet under --mtls strict', () => {
  const source = load(HEADLESS);
  const result = inject(source, strict);
  const out = result.files[0]!.text;

  it('re-points the headless Service like any other, closes the app port, and says what clients must do', () => {
    const services = objectsOfText(out).filter((o) => o.kind === 'Service') as Json[];
    expect(services.map((s) => s.spec.ports[0].targetPort)).toEqual([15006, 15006]);
    const policy = objectsOfText(out).find((o) => o.kind === 'NetworkPolicy') as Json;
    expect(policy.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: 15006 }, { protocol: 'TCP', port: 15090 }]);
    expect(result.reports[0]!.notes.some((n) => n.startsWith('warning: Service/pg-headless is headless (clusterIP: None)'))).toBe(true);
  });

  it('is valid, lint-clean, idempotent and reversible', async () => {
    expect(schemaIssues(out)).toEqual([]);
    expect(await envoyIssues(out)).toEqual({ configs: 1, issues: [] });
    expect(await lint([parseSource('pg.injected.yaml', out)], emptyConfig(), strict)).toEqual([]);
    expect(inject(parseSource(HEADLESS, out), strict).files[0]!.text).toBe(out);
    expect(uninject(parseSource(HEADLESS, out)).files[0]!.text).toBe(source.text);
  });
});

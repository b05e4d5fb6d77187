/**
 * The shop of fixtures/shop.yaml (HTTP + gRPC + metrics + UDP in one pod, Redis, MySQL, a TLS
 * gateway) under every mTLS mode: every TCP port has a listener of its own in the protocol it
 * speaks, Services are re-pointed per port, the Envoy configs are valid, the output lints clean,
 * and inject/uninject round-trip byte for byte.
 */
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseSource } from '../../src/manifest/source.js';
import type { SettingsLayer } from '../../src/settings/resolve.js';
import { envoyIssues, inject, load, objectsOfText, ROOT, schemaIssues, uninject } from '../helpers/corpus.js';
import { emptyConfig } from '../../src/lint/config.js';
import { lint } from '../lint/helpers.js';

type Json = Record<string, any>;
const flags = (...pairs: [string, string][]): SettingsLayer => pairs.map(([key, value]) => ({ key, value, flag: `--${key}` }));
const SHOP = join(ROOT, 'fixtures/shop.yaml');

const MODES: [string, SettingsLayer][] = [
  ['off', flags()],
  ['permissive', flags(['mtls', 'permissive'], ['mtls-issuer', 'mesh-ca'])],
  ['strict', flags(['mtls', 'strict'], ['mtls-issuer', 'mesh-ca'], ['rate-limit', '50'], ['retries', '2'], ['per-try-timeout', '500ms'])],
];

function envoyOf(out: string, workload: string): Json {
  const cm = objectsOfText(out).find((o) => o.kind === 'ConfigMap' && (o.metadata as Json).name === `${workload}-sidecarctl`) as Json;
  return parse(cm.data['envoy.yaml']);
}

function listener(envoy: Json, name: string): Json {
  return envoy.static_resources.listeners.find((l: Json) => l.name === name);
}

function filterNames(chain: Json): string[] {
  return chain.filters.map((f: Json) => f.name);
}

describe.each(MODES)('shop, --mtls %s', (mode, layer) => {
  const source = load(SHOP);
  const result = inject(source, layer);
  const out = result.files[0]!.text;

  it('injects every workload, valid for the API and for Envoy, lint-clean and reversible', async () => {
    expect(result.reports.map((r) => [r.object, r.action])).toEqual([
      ['Deployment/shop/catalog', 'injected'],
      ['StatefulSet/shop/redis', 'injected'],
      ['Deployment/shop/mysql', 'injected'],
      ['Deployment/shop/gateway', 'injected'],
    ]);
    expect(schemaIssues(out)).toEqual([]);
    const envoy = await envoyIssues(out);
    expect(envoy).toEqual({ configs: 4, issues: [] });
    // The settings given to inject are lint's profile, as they would be in .sidecarctl.yaml.
    expect(await lint([parseSource('shop.injected.yaml', out)], emptyConfig(), layer)).toEqual([]);
    expect(inject(parseSource('shop.yaml', out), layer).files[0]!.text).toBe(out);
    expect(uninject(parseSource('shop.yaml', out)).files[0]!.text).toBe(source.text);
  });

  it('reports every port: protocol, source, listener or why not', () => {
    const catalog = result.reports.find((r) => r.object === 'Deployment/shop/catalog')!;
    expect(catalog.notes.slice(0, 4)).toEqual([
      ':8080 http (port name) -> proxy :15006',
      ':8125 udp: not proxied',
      ':9090 grpc (appProtocol) -> proxy :15007',
      ':9100 detected per connection (http or tcp) -> proxy :15008',
    ]);
    expect(catalog.ports?.map((p) => [p.port, p.protocol, p.listener ?? null])).toEqual([
      [8080, 'http', 15006],
      [8125, 'detect', null],
      [9090, 'grpc', 15007],
      [9100, 'detect', 15008],
    ]);
    expect(result.reports.find((r) => r.object === 'StatefulSet/shop/redis')!.notes[0]).toBe(':6379 tcp (port name) -> proxy :15006');
  });

  it('re-points each Service port to its own listener, and leaves UDP alone', () => {
    const services = objectsOfText(out).filter((o) => o.kind === 'Service') as Json[];
    const catalog = services.find((s) => s.metadata.name === 'catalog')!;
    expect(catalog.spec.ports.map((p: Json) => p.targetPort)).toEqual([15006, 15007, 15008]);
    expect(services.find((s) => s.metadata.name === 'redis')!.spec.ports[0].targetPort).toBe(15006);
    expect(services.find((s) => s.metadata.name === 'gateway')!.spec.ports[0].targetPort).toBe(15006);
  });

  it('speaks each protocol: HCM for HTTP, HTTP/2 to gRPC apps, tcp_proxy for opaque and TLS ports', () => {
    const catalog = envoyOf(out, 'catalog');
    const http = listener(catalog, 'inbound');
    const grpc = listener(catalog, 'inbound_9090');
    const detected = listener(catalog, 'inbound_9100');
    for (const l of [http, grpc, detected]) expect(l.traffic_direction).toBe('INBOUND');
    expect(http.filter_chains.every((c: Json) => filterNames(c).includes('envoy.filters.network.http_connection_manager'))).toBe(true);
    const cluster = (name: string) => catalog.static_resources.clusters.find((c: Json) => c.name === name);
    expect(cluster('app_9090').typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config).toHaveProperty('http2_protocol_options');
    expect(cluster('app').typed_extension_protocol_options).toBeUndefined();
    // A detected port has an HTTP chain and a TCP chain.
    const detectedFilters = detected.filter_chains.map(filterNames).flat();
    expect(detectedFilters).toContain('envoy.filters.network.http_connection_manager');
    expect(detectedFilters).toContain('envoy.filters.network.tcp_proxy');

    const redis = listener(envoyOf(out, 'redis'), 'inbound');
    for (const c of redis.filter_chains) {
      expect(filterNames(c)).toContain('envoy.filters.network.tcp_proxy');
      expect(filterNames(c)).not.toContain('envoy.filters.network.http_connection_manager');
    }
    const gateway = listener(envoyOf(out, 'gateway'), 'inbound');
    // TLS passthrough: never terminated by the proxy.
    for (const c of gateway.filter_chains) expect(c.transport_socket).toBeUndefined();
  });

  it(`mTLS ${mode} covers every proxied port`, () => {
    for (const name of ['catalog', 'redis', 'mysql']) {
      for (const l of envoyOf(out, name).static_resources.listeners.filter((x: Json) => x.traffic_direction === 'INBOUND')) {
        const terminated = l.filter_chains.filter((c: Json) => c.transport_socket);
        const plain = l.filter_chains.filter((c: Json) => !c.transport_socket);
        if (mode === 'off') expect(terminated).toEqual([]);
        if (mode === 'strict') {
          // No chain takes plaintext: every chain terminates mTLS and requires a client certificate.
          expect(plain, `${name} ${l.name}`).toEqual([]);
          for (const c of terminated) expect(c.transport_socket.typed_config.require_client_certificate).toBe(true);
        }
        if (mode === 'permissive') {
          expect(terminated.length, `${name} ${l.name}`).toBeGreaterThan(0);
          expect(plain.length, `${name} ${l.name}`).toBeGreaterThan(0);
        }
      }
    }
    if (mode === 'strict') {
      // The passthrough port refuses plaintext too: its only chain wants a TLS ClientHello.
      const gateway = listener(envoyOf(out, 'gateway'), 'inbound');
      expect(gateway.filter_chains.map((c: Json) => c.filter_chain_match)).toEqual([{ transport_protocol: 'tls' }]);
      const catalog = result.reports.find((r) => r.object === 'Deployment/shop/catalog')!;
      expect(catalog.notes.some((n) => n.startsWith('mTLS strict on :15006, :15007, :15008:'))).toBe(true);
      // gRPC answers rate-limited calls in gRPC terms.
      const grpcHcm = listener(envoyOf(out, 'catalog'), 'inbound_9090').filter_chains[0].filters[0].typed_config;
      const limit = grpcHcm.http_filters.find((f: Json) => f.name === 'envoy.filters.http.local_ratelimit');
      expect(limit.typed_config.rate_limited_as_resource_exhausted).toBe(true);
      const route = grpcHcm.route_config.virtual_hosts[0].routes[0].route;
      expect(route.retry_policy.retry_on.split(',')).toEqual(expect.arrayContaining(['unavailable', 'cancelled', 'deadline-exceeded', 'resource-exhausted']));
    }
  });
});

describe('shop, --proxy bundled (HTTP/1.1, HTTP/2, gRPC, TCP and TLS passthrough)', () => {
  const source = load(SHOP);
  const layer = flags(['proxy', 'bundled']);
  const result = inject(source, layer);
  const out = result.files[0]!.text;
  const proxyConfig = (name: string) => {
    const cm = objectsOfText(out).find((o) => o.kind === 'ConfigMap' && (o.metadata as Json).name === `${name}-sidecarctl`) as Json;
    return JSON.parse(cm.data['proxy.json']);
  };

  it('proxies each port in a protocol it speaks, names the rest, and never puts an HTTP proxy in front of TCP', () => {
    const catalog = result.reports.find((r) => r.object === 'Deployment/shop/catalog')!;
    expect(catalog.notes.slice(0, 4)).toEqual([
      ':8080 http (port name) -> proxy :15006',
      ':8125 udp: not proxied',
      ':9090 grpc (appProtocol) -> proxy :15007',
      ':9100 detected per connection (http or tcp) -> proxy :15008',
    ]);
    expect(proxyConfig('catalog').inbound.map((l: Json) => [l.name ?? 'inbound', l.protocol, l.port, l.target.port])).toEqual([
      ['inbound', 'http', 15006, 8080],
      ['inbound-9090', 'grpc', 15007, 9090],
      ['inbound-9100', 'detect', 15008, 9100],
    ]);
    const services = objectsOfText(out) as Json[];
    // gRPC goes through a grpc listener (HTTP/2 to the app), with gRPC's retry statuses.
    expect(services.find((o) => o.kind === 'Service' && o.metadata.name === 'catalog')!.spec.ports.map((p: Json) => p.targetPort)).toEqual([15006, 15007, 15008]);
    // Redis and the TLS gateway go through TCP listeners; their Services are re-pointed.
    expect(proxyConfig('redis').inbound).toMatchObject({ protocol: 'tcp', port: 15006, target: { port: 6379 } });
    expect(proxyConfig('gateway').inbound).toMatchObject({ protocol: 'tls', port: 15006, target: { port: 8443 } });
    expect(proxyConfig('mysql').inbound.map((l: Json) => [l.protocol, l.target.port])).toEqual([['tcp', 3306], ['tcp', 33060]]);
    for (const name of ['redis', 'gateway']) expect(services.find((o) => o.kind === 'Service' && o.metadata.name === name)!.spec.ports[0].targetPort, name).toBe(15006);
    for (const name of ['redis', 'mysql', 'gateway']) expect(proxyConfig(name).inbound.retries ?? proxyConfig(name).inbound[0]?.retries, name).toBeUndefined();
  });

  it('is valid and reversible, lint-clean, and strict mTLS covers every proxied port', async () => {
    expect(schemaIssues(out)).toEqual([]);
    expect(await lint([parseSource('shop.injected.yaml', out)], emptyConfig(), layer)).toEqual([]);
    const strictLayer = flags(['proxy', 'bundled'], ['mtls', 'strict'], ['mtls-issuer', 'mesh-ca'], ['retries', '2'], ['per-try-timeout', '500ms']);
    const strict = inject(source, strictLayer).files[0]!.text;
    expect(await lint([parseSource('shop.injected.yaml', strict)], emptyConfig(), strictLayer)).toEqual([]);
    const cm = objectsOfText(strict).find((o) => o.kind === 'ConfigMap' && (o.metadata as Json).name === 'catalog-sidecarctl') as Json;
    const listeners = JSON.parse(cm.data['proxy.json']).inbound as Json[];
    expect(listeners.map((l) => [l.protocol, l.mtls?.mode])).toEqual([['http', 'strict'], ['grpc', 'strict'], ['detect', 'strict']]);
    // gRPC ports retry on gRPC's statuses as well (as Envoy's do).
    expect(listeners[1]!.retries.retryOn).toEqual(expect.arrayContaining(['unavailable', 'resource-exhausted', 'cancelled', 'deadline-exceeded']));
    expect(listeners[0]!.retries.retryOn).not.toContain('unavailable');
    expect(uninject(parseSource('shop.yaml', out)).files[0]!.text).toBe(source.text);
  });
});

describe('outbound upstreams by protocol: --upstream NAME=grpc://, tcp://', () => {
  const source = load(SHOP);
  const upstreams = flags(['upstream', 'pay=grpc://payments.shop.svc:9090@15101'], ['upstream', 'db=tcp://postgres.shop.svc:5432@15102'], ['upstream', 'web=web.shop.svc:80@15103'], ['retries', '2']);

  it('Envoy: a tcp_proxy for tcp://, HTTP/2 to grpc:// upstreams, an HTTP connection manager for the rest; valid', async () => {
    const out = inject(source, upstreams).files[0]!.text;
    expect(schemaIssues(out)).toEqual([]);
    expect((await envoyIssues(out)).issues).toEqual([]);
    const envoy = envoyOf(out, 'catalog');
    expect(filterNames(listener(envoy, 'outbound_db').filter_chains[0])).toEqual(['envoy.filters.network.tcp_proxy']);
    expect(filterNames(listener(envoy, 'outbound_pay').filter_chains[0])).toEqual(['envoy.filters.network.http_connection_manager']);
    const clusters = (envoy.static_resources as Json).clusters as Json[];
    const h2 = (name: string) => Boolean(clusters.find((c) => c.name === `upstream_${name}`)!.typed_extension_protocol_options);
    expect([h2('pay'), h2('db'), h2('web')]).toEqual([true, false, false]);
  });

  it('the bundled proxy: grpc and tcp outbound listeners (no retries for tcp, gRPC statuses for grpc); refused: TLS origination to tcp://', () => {
    const layer = [...flags(['proxy', 'bundled']), ...upstreams];
    const out = inject(source, layer).files[0]!.text;
    expect(schemaIssues(out)).toEqual([]);
    const cm = objectsOfText(out).find((o) => o.kind === 'ConfigMap' && (o.metadata as Json).name === 'catalog-sidecarctl') as Json;
    const outbound = JSON.parse(cm.data['proxy.json']).outbound as Json[];
    expect(outbound.map((o) => [o.name, o.protocol ?? 'http', o.port, o.retries !== undefined])).toEqual([
      ['pay', 'grpc', 15101, true],
      ['db', 'tcp', 15102, false],
      ['web', 'http', 15103, true],
    ]);
    expect(outbound[0]!.retries.retryOn).toContain('unavailable');
    const mtls = [...layer, ...flags(['mtls', 'strict'], ['mtls-issuer', 'mesh-ca'], ['upstream-mtls', 'db'])];
    expect(() => inject(source, mtls)).toThrow(/--upstream-mtls db: the bundled proxy originates TLS for HTTP upstreams only/);
  });

  it('refuses an unknown scheme with the accepted form', () => {
    expect(() => inject(source, flags(['upstream', 'x=redis://r:6379']))).toThrow(/NAME=\[http\|http2\|grpc\|tcp:\/\/\]HOST:PORT/);
  });
});

/**
 * mTLS for the Envoy sidecar: every mode x certificate source x upstream combination is valid for
 * Envoy (strict proto validation, SDS files included) and for Kubernetes (the Certificate against
 * cert-manager's CRD schema), and carries the TLS contexts, SAN matchers and SDS wiring we promise.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { parseSource } from '../../src/manifest/source.js';
import { resolveSettings } from '../../src/settings/resolve.js';
import { envoyIssues, inject, load, ROOT, schemaIssues, uninject } from '../helpers/corpus.js';
import { flags, pieces, sdsIssues, type Any } from './helpers.js';

const WEB = join(ROOT, 'fixtures/web.yaml');
const CERT_DIR = '/var/run/sidecarctl/certs';
const DOWNSTREAM = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const UPSTREAM = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

const SOURCES = {
  issuer: ['mtls-issuer', 'mesh-ca'],
  clusterissuer: ['mtls-issuer', 'clusterissuer/mesh-ca'],
  secret: ['mtls-secret', '{workload}-tls'],
} as const;
const UPSTREAMS: [string, string][] = [
  ['upstream', 'api=api.prod.svc.cluster.local:8080@19000'],
  ['upstream', 'ledger=10.0.0.7:9000@19001'],
  ['upstream', 'legacy=legacy.prod.svc:80@19002'],
  ['upstream-mtls', 'api=prod/api'],
  ['upstream-mtls', 'ledger'],
];

function inbound(envoy: Any): Any {
  return envoy.static_resources.listeners.find((l: Any) => l.name === 'inbound');
}

function cluster(envoy: Any, name: string): Any {
  return envoy.static_resources.clusters.find((c: Any) => c.name === name);
}

/** The SDS config source every TLS context must use: a file in the ConfigMap, its directory watched. */
function expectSdsWiring(common: Any, data: Record<string, string>): void {
  const cert = common.tls_certificate_sds_secret_configs[0];
  const ca = common.combined_validation_context.validation_context_sds_secret_config;
  for (const ref of [cert, ca]) {
    const source = ref.sds_config.path_config_source;
    expect(ref.sds_config.resource_api_version).toBe('V3');
    expect(source.watched_directory.path).toBe('/etc/sidecarctl');
    expect(source.path.startsWith('/etc/sidecarctl/')).toBe(true);
    // The file it names is in the ConfigMap and holds the secret it asks for.
    const file = data[source.path.slice('/etc/sidecarctl/'.length)]!;
    expect(file).toContain(`name: ${ref.name}`);
  }
  expect(common.tls_params.tls_minimum_protocol_version).toBe('TLSv1_2');
}

function sanMatchers(common: Any): Any[] {
  return common.combined_validation_context.default_validation_context.match_typed_subject_alt_names;
}

describe('mTLS matrix: mode x certificate source x upstreams', () => {
  for (const mode of ['permissive', 'strict'] as const) {
    for (const [sourceName, source] of Object.entries(SOURCES)) {
      for (const withUpstreams of [false, true]) {
        it(`${mode}, ${sourceName}${withUpstreams ? ', upstreams with mTLS' : ''}`, async () => {
          const layer = flags(['mtls', mode], [...source], ...(withUpstreams ? UPSTREAMS : []));
          const original = load(WEB);
          const out = inject(original, layer).files[0]!.text;

          expect(schemaIssues(out)).toEqual([]);
          const envoy = await envoyIssues(out);
          expect(envoy).toEqual({ configs: 1, issues: [] });
          const { configMap, envoy: config, deployment, certificate } = pieces(out);
          expect(await sdsIssues(configMap.data)).toEqual({ files: 2, issues: [] });

          // Inbound: one mTLS chain (strict), or TLS inspector + mTLS chain + plaintext chain (permissive).
          const listener = inbound(config);
          const chains = listener.filter_chains;
          const tls = chains[0].transport_socket.typed_config;
          expect(chains[0].transport_socket.name).toBe('envoy.transport_sockets.tls');
          expect(tls['@type']).toBe(DOWNSTREAM);
          expect(tls.require_client_certificate).toBe(true);
          expectSdsWiring(tls.common_tls_context, configMap.data);
          expect(sanMatchers(tls.common_tls_context)).toEqual([{ san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/' } }]);
          const hcm = (chain: Any) => chain.filters[0].typed_config;
          expect(hcm(chains[0]).forward_client_cert_details).toBe('SANITIZE_SET');
          if (mode === 'strict') {
            expect(chains).toHaveLength(1);
            expect(listener.listener_filters).toBeUndefined();
            expect(chains[0].filter_chain_match).toBeUndefined();
          } else {
            expect(listener.listener_filters.map((f: Any) => f.name)).toEqual(['envoy.filters.listener.tls_inspector']);
            expect(chains.map((c: Any) => c.filter_chain_match.transport_protocol)).toEqual(['tls', 'raw_buffer']);
            expect(chains[1].transport_socket).toBeUndefined();
            // Plaintext clients may not forge the identity header.
            expect(hcm(chains[1]).forward_client_cert_details).toBeUndefined();
          }

          // Outbound: mTLS only to the upstreams asked for; SNI unless an IP; the server's identity checked.
          if (withUpstreams) {
            const api = cluster(config, 'upstream_api').transport_socket.typed_config;
            expect(api['@type']).toBe(UPSTREAM);
            expect(api.sni).toBe('api.prod.svc.cluster.local');
            expectSdsWiring(api.common_tls_context, configMap.data);
            expect(sanMatchers(api.common_tls_context)).toEqual([{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/prod/sa/api' } }]);
            const ledger = cluster(config, 'upstream_ledger').transport_socket.typed_config;
            expect(ledger.sni).toBeUndefined();
            expect(sanMatchers(ledger.common_tls_context)).toEqual([{ san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/' } }]);
            expect(cluster(config, 'upstream_legacy').transport_socket).toBeUndefined();
          }

          // The certificate files: a Secret volume, mounted read-only into Envoy only.
          const pod = deployment.spec.template.spec;
          const secretName = sourceName === 'secret' ? 'web-tls' : 'web-sidecarctl-mtls';
          expect(pod.volumes.find((v: Any) => v.name === 'sidecarctl-mtls')).toEqual({ name: 'sidecarctl-mtls', secret: { secretName, defaultMode: 0o444 } });
          const envoyContainer = pod.initContainers.find((c: Any) => c.name === 'sidecarctl-envoy');
          expect(envoyContainer.volumeMounts).toContainEqual({ name: 'sidecarctl-mtls', mountPath: CERT_DIR, readOnly: true });
          for (const c of pod.containers) expect(JSON.stringify(c.volumeMounts ?? [])).not.toContain('sidecarctl-mtls');
          expect(configMap.data['envoy-sds-cert.yaml']).toContain(`filename: ${CERT_DIR}/tls.key`);
          expect(configMap.data['envoy-sds-cert.yaml']).toContain(`path: ${CERT_DIR}`);
          expect(configMap.data['envoy-sds-ca.yaml']).toContain(`filename: ${CERT_DIR}/ca.crt`);

          // A Certificate per workload with --mtls-issuer, none with --mtls-secret.
          if (sourceName === 'secret') expect(certificate).toBeUndefined();
          else {
            expect(certificate.metadata).toMatchObject({ name: 'web-sidecarctl-mtls', namespace: 'shop' });
            expect(certificate.spec).toMatchObject({
              secretName: 'web-sidecarctl-mtls',
              uris: ['spiffe://cluster.local/ns/shop/sa/default'],
              issuerRef: { name: 'mesh-ca', kind: sourceName === 'clusterissuer' ? 'ClusterIssuer' : 'Issuer', group: 'cert-manager.io' },
              usages: ['digital signature', 'server auth', 'client auth'],
            });
          }

          // Idempotent, and uninject gives back every byte (the Certificate goes too).
          expect(inject(parseSource(WEB, out), layer).files[0]!.text).toBe(out);
          expect(uninject(parseSource(WEB, out)).files[0]!.text).toBe(original.text);
        });
      }
    }
  }

  it('gives a client-only workload (--mtls off) a certificate for its upstreams, and no inbound TLS', async () => {
    const out = inject(load(WEB), flags(['mtls-issuer', 'mesh-ca'], ...UPSTREAMS)).files[0]!.text;
    expect((await envoyIssues(out)).issues).toEqual([]);
    const { envoy, certificate, configMap } = pieces(out);
    expect(inbound(envoy).filter_chains[0].transport_socket).toBeUndefined();
    expect(cluster(envoy, 'upstream_api').transport_socket.typed_config['@type']).toBe(UPSTREAM);
    expect(certificate).toBeDefined();
    expect(Object.keys(configMap.data).sort()).toEqual(['envoy-sds-ca.yaml', 'envoy-sds-cert.yaml', 'envoy.yaml']);
  });

  it('leaves the output alone when mTLS is off, even with a certificate source set (only the status records the issuer given)', () => {
    const plain = inject(load(WEB)).files[0]!.text;
    const off = inject(load(WEB), flags(['mtls', 'off'], ['mtls-issuer', 'mesh-ca'])).files[0]!.text;
    const record = ',"settings":{"mtls-issuer":"mesh-ca"}';
    expect(off).toContain(record);
    expect(off.replace(record, '')).toBe(plain);
  });
});

describe('allow-list of peers', () => {
  it('turns service accounts, ns/sa and SPIFFE IDs into exact URI SAN matchers on every inbound TLS chain', async () => {
    const layer = flags(
      ['mtls', 'permissive'], ['mtls-secret', 'web-tls'], ['trust-domain', 'example.org'],
      ['allow-peer', 'frontend'], ['allow-peer', 'ops/prober'], ['allow-peer', 'spiffe://partner.example/ns/x/sa/y'], ['allow-peer', 'shop/frontend'],
    );
    const out = inject(load(WEB), layer).files[0]!.text;
    expect((await envoyIssues(out)).issues).toEqual([]);
    const common = inbound(pieces(out).envoy).filter_chains[0].transport_socket.typed_config.common_tls_context;
    expect(sanMatchers(common).map((m: Any) => m.matcher)).toEqual([
      { exact: 'spiffe://example.org/ns/shop/sa/frontend' },
      { exact: 'spiffe://example.org/ns/ops/sa/prober' },
      { exact: 'spiffe://partner.example/ns/x/sa/y' },
    ]);
  });

  it('reads the allow-list from workload annotations too', async () => {
    const text = load(WEB).text.replace('sidecarctl.io/retries: "2"\n', 'sidecarctl.io/retries: "2"\n        sidecarctl.io/allow-peer: "frontend, ops/prober"\n');
    expect(text).toContain('sidecarctl.io/allow-peer');
    const out = inject(parseSource(WEB, text), flags(['mtls', 'strict'], ['mtls-issuer', 'mesh-ca'])).files[0]!.text;
    const common = inbound(pieces(out).envoy).filter_chains[0].transport_socket.typed_config.common_tls_context;
    expect(sanMatchers(common).map((m: Any) => m.matcher.exact)).toEqual(['spiffe://cluster.local/ns/shop/sa/frontend', 'spiffe://cluster.local/ns/ops/sa/prober']);
  });
});

describe('clear errors', () => {
  const attempt = (...pairs: [string, string][]) => () => resolveSettings([flags(...pairs)]);

  it('refuses mTLS without a certificate source, and both sources at once', () => {
    expect(attempt(['mtls', 'strict'])).toThrow(/--mtls strict needs a certificate source/);
    expect(attempt(['mtls', 'strict'], ['mtls-issuer', 'a'], ['mtls-secret', 'b'])).toThrow(/either --mtls-issuer or --mtls-secret/);
  });

  it('refuses names that are not valid', () => {
    expect(attempt(['mtls', 'strict'], ['mtls-issuer', 'Mesh_CA'])).toThrow(/--mtls-issuer: "Mesh_CA" is not a valid issuer name/);
    expect(attempt(['mtls', 'strict'], ['mtls-secret', '{workload}_tls'])).toThrow(/not a valid Secret name/);
    expect(attempt(['mtls', 'strict'], ['mtls-issuer', 'a'], ['allow-peer', 'spiffe://'])).toThrow(/--allow-peer: "spiffe:\/\/" is not a SPIFFE ID/);
    expect(attempt(['mtls', 'strict'], ['mtls-issuer', 'a'], ['allow-peer', 'a/b/c'])).toThrow(/is not a peer identity/);
  });

  it('refuses mTLS to an upstream that does not exist or without a certificate', () => {
    expect(attempt(['upstream', 'a=a:80'], ['upstream-mtls', 'b'], ['mtls-issuer', 'x'])).toThrow(/"b" is not an --upstream \(known: a\)/);
    expect(attempt(['upstream', 'a=a:80'], ['upstream-mtls', 'a'])).toThrow(/needs the workload's certificate/);
    expect(attempt(['upstream', 'a=a:80'], ['upstream-mtls', 'a=not/an/id'], ['mtls-issuer', 'x'])).toThrow(/not a peer identity/);
  });

  it('names a workload whose Secret name would be invalid', () => {
    const text = load(WEB).text.replace('name: web\n  namespace: shop\n  labels', `name: ${'w'.repeat(250)}\n  namespace: shop\n  labels`);
    expect(text).not.toBe(load(WEB).text);
    const run = () => inject(parseSource(WEB, text), flags(['mtls', 'strict'], ['mtls-issuer', 'mesh-ca']));
    expect(run).toThrow(UserError);
    expect(run).toThrow(/is not a valid name/);
  });
});

describe('the checks can fail', () => {
  it('the Kubernetes schemas reject a broken Certificate', () => {
    const out = inject(load(WEB), flags(['mtls', 'strict'], ['mtls-issuer', 'mesh-ca'])).files[0]!.text;
    expect(schemaIssues(out.replace("- client auth", "- client authentication"))).not.toEqual([]);
    const withoutSecretName = out.replace('\n  secretName: web-sidecarctl-mtls\n', '\n');
    expect(withoutSecretName).not.toBe(out);
    expect(schemaIssues(withoutSecretName)).not.toEqual([]);
  });

  it('the Envoy validator rejects a broken TLS context and a broken SDS file', async () => {
    const out = inject(load(WEB), flags(['mtls', 'strict'], ['mtls-issuer', 'mesh-ca'])).files[0]!.text;
    expect((await envoyIssues(out.replace('TLSv1_2', 'TLSv1_9'))).issues).not.toEqual([]);
    const data = pieces(out).configMap.data;
    expect((await sdsIssues({ ...data, 'envoy-sds-cert.yaml': data['envoy-sds-cert.yaml'].replace('private_key:', 'privat_key:') })).issues).not.toEqual([]);
  });
});

describe('the Certificate names the Services in front of the workload', () => {
  it('web.yaml: its Service web in namespace shop, by every name a client may use', () => {
    const out = inject(load(WEB), flags(['mtls', 'strict'], ['mtls-issuer', 'mesh-ca'])).files[0]!.text;
    const certificate = pieces(out).certificate as Any;
    expect(certificate.spec.dnsNames).toEqual(['web', 'web.shop', 'web.shop.svc', 'web.shop.svc.cluster.local']);
    expect(certificate.spec.uris).toEqual(['spiffe://cluster.local/ns/shop/sa/default']);
  });

  it('no Service selects it: a URI SAN only', () => {
    const text = load(WEB).text.split('---').filter((doc) => !doc.includes('kind: Service')).join('---');
    const out = inject(parseSource(WEB, text), flags(['mtls', 'strict'], ['mtls-issuer', 'mesh-ca'])).files[0]!.text;
    expect((pieces(out).certificate as Any).spec.dnsNames).toBeUndefined();
  });
});

/** The proxy-agnostic mTLS pieces: identities, allow-lists, Secret names, the certificate source. */
import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../../src/settings/resolve.js';
import { certificateSource, issuerRef, peerIdentities, secretNameFor, serviceDnsNames, upstreamIdentity, workloadIdentity } from '../../src/sidecars/mtls/index.js';
import type { WorkloadContext } from '../../src/sidecars/types.js';
import { flags } from './helpers.js';

function context(pairs: [string, string][], extra: Partial<WorkloadContext> = {}): WorkloadContext {
  return {
    settings: resolveSettings([flags(...pairs)]), kind: 'Deployment', name: 'web', namespace: 'shop', serviceAccount: 'web-sa',
    podSpec: {}, appContainer: 'web', ports: [], appPort: 8080, configMapName: 'web-sidecarctl', configDir: '/etc/sidecarctl', runsToCompletion: false, ...extra,
  };
}

describe('mTLS identities and certificate source', () => {
  it('builds SPIFFE IDs from trust domain, namespace and service account', () => {
    expect(workloadIdentity(context([]))).toBe('spiffe://cluster.local/ns/shop/sa/web-sa');
    expect(workloadIdentity(context([['trust-domain', 'example.org']], { namespace: undefined }))).toBe('spiffe://example.org/ns/default/sa/web-sa');
    const ctx = context([['allow-peer', 'a'], ['allow-peer', 'ops/b'], ['allow-peer', 'spiffe://x.org/y'], ['allow-peer', 'shop/a']]);
    expect(peerIdentities(ctx)).toEqual(['spiffe://cluster.local/ns/shop/sa/a', 'spiffe://cluster.local/ns/ops/sa/b', 'spiffe://x.org/y']);
    const up = context([['upstream', 'api=api:80'], ['upstream', 'db=db:5432'], ['upstream-mtls', 'api=payments'], ['upstream-mtls', 'db'], ['mtls-issuer', 'ca']]);
    expect(upstreamIdentity(up, 'api')).toBe('spiffe://cluster.local/ns/shop/sa/payments');
    expect(upstreamIdentity(up, 'db')).toBeUndefined();
    expect(serviceDnsNames('web', 'shop')).toEqual(['web', 'web.shop', 'web.shop.svc', 'web.shop.svc.cluster.local']);
  });

  it('names Secrets and issuers', () => {
    expect(secretNameFor('web')).toBe('web-sidecarctl-mtls');
    expect(secretNameFor('web', '{workload}-tls')).toBe('web-tls');
    expect(secretNameFor('web', 'shared-tls')).toBe('shared-tls');
    expect(() => secretNameFor('w'.repeat(250))).toThrow(/not a valid name/);
    expect(issuerRef('clusterissuer/mesh')).toEqual({ name: 'mesh', kind: 'ClusterIssuer', group: 'cert-manager.io' });
    expect(issuerRef('ClusterIssuer/mesh').kind).toBe('ClusterIssuer');
    expect(issuerRef('issuer/mesh')).toEqual({ name: 'mesh', kind: 'Issuer', group: 'cert-manager.io' });
    expect(issuerRef('mesh').kind).toBe('Issuer');
  });

  it('gives a certificate source only when the proxy needs a certificate', () => {
    expect(certificateSource(context([['mtls-issuer', 'ca']]))).toBeUndefined();
    const issued = certificateSource(context([['mtls', 'strict'], ['mtls-issuer', 'ca']], { serviceDnsNames: ['web.shop.svc', 'web.shop.svc'] }))!;
    expect(issued).toMatchObject({
      kind: 'issuer', secretName: 'web-sidecarctl-mtls', mountPath: '/var/run/sidecarctl/certs',
      certFile: '/var/run/sidecarctl/certs/tls.crt', keyFile: '/var/run/sidecarctl/certs/tls.key', caFile: '/var/run/sidecarctl/certs/ca.crt',
      volume: { name: 'sidecarctl-mtls', secret: { secretName: 'web-sidecarctl-mtls', defaultMode: 0o444 } },
    });
    expect(issued.objects).toHaveLength(1);
    expect((issued.objects[0]!.spec as Record<string, unknown>).dnsNames).toEqual(['web.shop.svc']);
    const secret = certificateSource(context([['mtls', 'permissive'], ['mtls-secret', 'mine']]))!;
    expect(secret).toMatchObject({ kind: 'secret', secretName: 'mine', objects: [] });
    expect(certificateSource(context([['mtls', 'strict'], ['mtls-issuer', 'ca']], { namespace: undefined }))!.notes[0]).toMatch(/warning: no metadata.namespace/);
  });
});

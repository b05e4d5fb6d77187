/**
 * The Secret manifests `sidecarctl certs` prints: one kubernetes.io/tls Secret per workload with
 * tls.crt, tls.key and ca.crt (the layout --mtls-secret and cert-manager's CA issuer share).
 */
import { stringify } from 'yaml';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../inject/status.js';
import { CA_KEY, CERT_KEY, KEY_KEY } from '../sidecars/mtls/source.js';
import type { CertificatePlan } from './plan.js';
import { createDevCa, issueLeaf, type PemPair } from './pki.js';

export const DEV_WARNING = 'DEVELOPMENT ONLY, NOT FOR PRODUCTION: a throwaway CA made on this machine; its key is not kept.';

export interface IssuedSecret {
  plan: CertificatePlan;
  notAfter: Date;
  manifest: string;
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

export function secretManifest(plan: CertificatePlan, leaf: PemPair, caCert: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: {
      name: plan.secretName,
      ...(plan.namespace ? { namespace: plan.namespace } : {}),
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, 'sidecarctl.io/workload': plan.workload.slice(0, 63).replace(/[^a-zA-Z0-9]+$/, '') },
    },
    data: { [CERT_KEY]: base64(leaf.cert), [KEY_KEY]: base64(leaf.key), [CA_KEY]: base64(caCert) },
  };
}

/** One CA for the whole run (every workload must trust every other), then a leaf per workload. */
export async function issueSecrets(plans: CertificatePlan[], days: number, now = new Date()): Promise<IssuedSecret[]> {
  const ca = await createDevCa(days, now);
  const notAfter = new Date(now.getTime() + days * 86_400_000);
  const issued: IssuedSecret[] = [];
  for (const plan of plans) {
    const leaf = await issueLeaf(ca, { identity: plan.identity, dnsNames: plan.dnsNames, commonName: plan.workload, days }, now);
    const comment = `# ${plan.object}: ${plan.identity}, valid until ${notAfter.toISOString()}\n# ${DEV_WARNING}\n`;
    issued.push({ plan, notAfter, manifest: comment + stringify(secretManifest(plan, leaf, ca.cert), { lineWidth: 0 }) });
  }
  return issued;
}

/** The YAML stream of all Secrets. */
export function joinManifests(issued: IssuedSecret[]): string {
  return issued.map((s) => s.manifest).join('---\n');
}

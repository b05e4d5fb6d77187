/**
 * Which certificates `sidecarctl certs` makes: one per workload of the input that inject would give a
 * proxy, named and shaped exactly as inject will look for it (same settings layering: profile <
 * annotations < flags), with the DNS names of the Services in the input that select it.
 */
import { UserError } from '../errors.js';
import { skipReason, workloadContext } from '../inject/plan.js';
import { workloadSettings } from '../inject/run.js';
import { selects } from '../inject/services.js';
import { lineOf, type SourceFile } from '../manifest/source.js';
import { describe, isWorkloadKind, objectsOf, type ObjectRef } from '../manifest/workloads.js';
import type { SettingsLayer } from '../settings/resolve.js';
import { ASSUMED_NAMESPACE, serviceDnsNames, workloadIdentity } from '../sidecars/mtls/identity.js';
import { secretNameFor } from '../sidecars/mtls/source.js';

export interface CertificatePlan {
  /** `Deployment/shop/web`, as reports print it. */
  object: string;
  workload: string;
  namespace?: string;
  secretName: string;
  identity: string;
  dnsNames: string[];
}

export interface Skipped {
  object: string;
  reason: string;
}

interface Located {
  source: SourceFile;
  ref: ObjectRef;
}

function objectsIn(source: SourceFile): Located[] {
  return source.docs.flatMap((doc, i) => {
    try {
      return objectsOf(doc, i).map((ref) => ({ source, ref }));
    } catch (error) {
      throw new UserError((error as Error).message, source.path, lineOf(source, doc.range[0]));
    }
  });
}

/** DNS names of every Service in the input that selects the workload, without duplicates. */
function dnsNamesFor(workload: ObjectRef, services: ObjectRef[]): string[] {
  const names = services.filter((s) => selects(s, workload)).flatMap((s) => serviceDnsNames(s.name, s.namespace ?? ASSUMED_NAMESPACE));
  return [...new Set(names)];
}

export function planCertificates(sources: SourceFile[], layers: { profile: SettingsLayer; flags: SettingsLayer }): { plans: CertificatePlan[]; skipped: Skipped[] } {
  const all = sources.flatMap(objectsIn);
  const services = all.filter((o) => o.ref.kind === 'Service').map((o) => o.ref);
  const plans: CertificatePlan[] = [];
  const skipped: Skipped[] = [];
  const taken = new Map<string, string>();
  for (const { source, ref } of all.filter((o) => isWorkloadKind(o.ref.kind))) {
    const object = describe(ref);
    const settings = workloadSettings(source, ref, layers);
    const reason = settings.proxy === 'none' ? 'no proxy (--proxy none): no certificate needed' : skipReason(ref, settings)?.reason;
    if (reason) {
      skipped.push({ object, reason });
      continue;
    }
    if (settings.mtlsIssuer) {
      skipped.push({ object, reason: `its certificate comes from cert-manager (mtls-issuer ${settings.mtlsIssuer})` });
      continue;
    }
    const ctx = workloadContext(ref, settings);
    const secretName = settings.mtlsSecret ? secretNameFor(ref.name, settings.mtlsSecret) : secretNameFor(ref.name);
    const key = `${ref.namespace ?? ''}/${secretName}`;
    const clash = taken.get(key);
    if (clash) throw new UserError(`${object} and ${clash} would share Secret ${secretName}: give one a sidecarctl.io/mtls-secret annotation`, source.path);
    taken.set(key, object);
    plans.push({
      object,
      workload: ref.name,
      ...(ref.namespace ? { namespace: ref.namespace } : {}),
      secretName,
      identity: workloadIdentity(ctx),
      dnsNames: dnsNamesFor(ref, services),
    });
  }
  return { plans, skipped };
}

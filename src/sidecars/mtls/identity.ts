/**
 * Workload identities, SPIFFE style: `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`.
 * The same identity goes into the workload's certificate (a URI SAN) and into the peers' allow-lists,
 * so every proxy kind and `sidecarctl certs` must build it here, and only here.
 */
import { UserError } from '../../errors.js';
import { parsePeerId, type PeerId } from '../../settings/options.js';
import type { WorkloadContext } from '../types.js';

/** What `kubectl apply` uses for a manifest without metadata.namespace, unless told otherwise. */
export const ASSUMED_NAMESPACE = 'default';

/** Names a Service answers to inside the cluster, shortest first (as clients write them). */
export const CLUSTER_DOMAIN = 'cluster.local';

export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

export function namespaceOf(ctx: Pick<WorkloadContext, 'namespace'>): string {
  return ctx.namespace ?? ASSUMED_NAMESPACE;
}

/** The identity a workload's certificate carries. */
export function workloadIdentity(ctx: Pick<WorkloadContext, 'settings' | 'namespace' | 'serviceAccount'>): string {
  return spiffeId(ctx.settings.trustDomain, namespaceOf(ctx), ctx.serviceAccount);
}

/** Every SPIFFE ID of the trust domain starts with this: what "any workload of the mesh" matches. */
export function trustDomainPrefix(trustDomain: string): string {
  return `spiffe://${trustDomain}/`;
}

/** A peer as written by the user, as a SPIFFE ID; a bare service account is one of the workload's namespace. */
export function peerSpiffeId(peer: PeerId, trustDomain: string, namespace: string): string {
  if ('spiffe' in peer) return peer.spiffe;
  return spiffeId(trustDomain, peer.namespace ?? namespace, peer.serviceAccount);
}

function parsed(raw: string): PeerId {
  try {
    return parsePeerId(raw);
  } catch (error) {
    // The settings layer already checked the syntax; this guards callers that build Settings by hand.
    throw new UserError(`--allow-peer: ${(error as Error).message}`);
  }
}

/** The --allow-peer entries as SPIFFE IDs, without duplicates, in the order given. */
export function peerIdentities(ctx: Pick<WorkloadContext, 'settings' | 'namespace'>): string[] {
  const ids = ctx.settings.allowPeers.map((raw) => peerSpiffeId(parsed(raw), ctx.settings.trustDomain, namespaceOf(ctx)));
  return [...new Set(ids)];
}

/** The server identity to insist on for an upstream called with mTLS, when the user named one. */
export function upstreamIdentity(ctx: Pick<WorkloadContext, 'settings' | 'namespace'>, upstream: string): string | undefined {
  const entry = ctx.settings.upstreamMtls.find((u) => u.name === upstream);
  return entry?.identity === undefined ? undefined : peerSpiffeId(parsed(entry.identity), ctx.settings.trustDomain, namespaceOf(ctx));
}

/** `web`, `web.shop`, `web.shop.svc`, `web.shop.svc.cluster.local`: the names clients may verify a Service by. */
export function serviceDnsNames(service: string, namespace: string = ASSUMED_NAMESPACE): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.${CLUSTER_DOMAIN}`];
}

/**
 * Closing the bypass: without iptables every containerPort stays reachable on the pod IP, around
 * the proxy, so "strict mTLS" would hold only for clients that go through the Service. A
 * NetworkPolicy per injected workload lets other pods reach only the proxy's listeners, its metrics
 * port, and the ports left unproxied on purpose (UDP, skipped), so the app's own ports are closed.
 *
 * Policies are additive: a new policy beside the input's own that select the pod would widen
 * them (its rule admits every peer), so then those are amended instead (./policies.ts).
 */
import { proxiedPorts } from '../model/ports.js';
import { ENVOY_METRICS_PORT } from '../sidecars/envoy/config.js';
import type { Settings } from '../settings/types.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../inject/status.js';
import type { Json, WorkloadContext } from '../sidecars/types.js';

/** `--network-policy`, on by default with `--mtls strict`. */
export function networkPolicyOn(settings: Settings): boolean {
  return settings.proxy !== 'none' && (settings.networkPolicy ?? settings.mtls === 'strict');
}

export function policyName(ctx: WorkloadContext): string {
  return `${ctx.name}-sidecarctl`.slice(0, 253);
}

/** Where the proxy's metrics are scraped: Envoy's metrics listener, or the bundled proxy's admin port. */
function metricsPort(ctx: WorkloadContext): number {
  return ctx.settings.proxy === 'envoy' ? ENVOY_METRICS_PORT : ctx.settings.adminPort;
}

/** The ports other pods may reach: listeners, metrics, and every port the proxy does not carry. */
export function openPorts(ctx: WorkloadContext): { protocol: string; port: number }[] {
  const tcp = new Set<number>([...proxiedPorts(ctx.ports).map((p) => p.listener), metricsPort(ctx)]);
  const out = [...tcp].map((port) => ({ protocol: 'TCP', port }));
  for (const p of ctx.ports) if (p.listener === undefined) out.push({ protocol: p.l4, port: p.port });
  return out;
}

/**
 * The workload's policy, selecting its pods by all their template labels (the narrowest selector
 * the input gives). No labels, no policy: an empty podSelector would close every pod of the
 * namespace.
 */
export function generatedPolicy(ctx: WorkloadContext, podLabels: Record<string, unknown>): Json | undefined {
  if (Object.keys(podLabels).length === 0) return undefined;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: policyName(ctx),
      ...(ctx.namespace ? { namespace: ctx.namespace } : {}),
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, 'sidecarctl.io/workload': ctx.name.slice(0, 63) },
    },
    spec: {
      podSelector: { matchLabels: Object.fromEntries(Object.entries(podLabels).map(([k, v]) => [k, String(v)])) },
      policyTypes: ['Ingress'],
      ingress: [{ ports: openPorts(ctx) }],
    },
  };
}

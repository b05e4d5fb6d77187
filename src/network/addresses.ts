/**
 * Where the app listens and where the proxy listens.
 *
 * - An app bound to its pod IP (the OpenTelemetry collector's `${MY_POD_IP}:14250`) refuses
 *   127.0.0.1: the proxy must dial the pod IP. Such apps learn the IP from the downward API
 *   (`fieldRef: status.podIP`), which is how it is detected; `app-address` says it outright.
 *   Dialing the pod IP also reaches apps bound to every address, so the detection errs safe.
 * - A Service that is IPv6 or dual-stack sends to the pod's IPv6 address: listeners bind `::`
 *   (with IPv4 too), not 0.0.0.0 only.
 */
import { isPlainObject } from '../manifest/workloads.js';
import type { AppAddress } from '../settings/types.js';
import { appPortsOf, servicePortsOf, targetOf } from '../model/ports.js';

type Json = Record<string, unknown>;

/** The env var the proxy sidecar gets the pod IP in (downward API). */
export const POD_IP_ENV = 'SIDECARCTL_POD_IP';
/** The host name the Envoy config dials for a pod-IP app; the container's command puts the IP there. */
export const POD_IP_HOST = 'sidecarctl-pod-ip';

function containers(spec: Json): Json[] {
  return Array.isArray(spec.containers) ? (spec.containers.filter(isPlainObject) as Json[]) : [];
}

/** The app containers' env vars set from status.podIP (or status.podIPs). */
export function podIpVars(spec: Json): string[] {
  return containers(spec).flatMap((c) =>
    (Array.isArray(c.env) ? c.env.filter(isPlainObject) : []).flatMap((e) => {
      const field = isPlainObject(e.valueFrom) && isPlainObject(e.valueFrom.fieldRef) ? e.valueFrom.fieldRef.fieldPath : undefined;
      return (field === 'status.podIP' || field === 'status.podIPs') && typeof e.name === 'string' ? [e.name] : [];
    }),
  );
}

/** The setting, else pod-ip when an app container takes its pod IP from the downward API. */
export function appAddressOf(spec: Json, setting: AppAddress | undefined): { address: AppAddress; detected?: string } {
  if (setting) return { address: setting };
  const vars = podIpVars(spec);
  return vars.length > 0 ? { address: 'pod-ip', detected: vars[0]! } : { address: '127.0.0.1' };
}

/** Whether a Service sends IPv6 traffic: IPv6 among its ipFamilies, a dual-stack policy, or an IPv6 clusterIP. */
export function isIpv6Service(service: Json): boolean {
  const spec = isPlainObject(service.spec) ? service.spec : {};
  if (Array.isArray(spec.ipFamilies) && spec.ipFamilies.includes('IPv6')) return true;
  if (spec.ipFamilyPolicy === 'PreferDualStack' || spec.ipFamilyPolicy === 'RequireDualStack') return true;
  const ips = [spec.clusterIP, ...(Array.isArray(spec.clusterIPs) ? spec.clusterIPs : [])];
  return ips.some((ip) => typeof ip === 'string' && ip.includes(':'));
}

/** The TCP app ports that IPv6 or dual-stack Services of a workload send to. */
export function ipv6AppPorts(podSpec: Json, services: readonly { name: string; value: Json }[]): Set<number> {
  const ports = appPortsOf(podSpec);
  const out = new Set<number>();
  for (const service of services) {
    if (!isIpv6Service(service.value)) continue;
    for (const facts of servicePortsOf(service.value, service.name)) {
      const target = targetOf(facts, ports, podSpec);
      if (target && target.l4 === 'TCP') out.add(target.port);
    }
  }
  return out;
}

/**
 * Ports the internet reaches: those of a LoadBalancer or NodePort Service, of a Service with
 * externalIPs, or of a Service an Ingress of the input sends to. Under strict mTLS such a port must
 * not land on a listener that asks for a client certificate (browsers and cloud load balancers have
 * none): it gets an `edge` listener, or a permissive one (`--public-mtls`).
 */
import { getPath } from '../manifest/edit-ops.js';
import { isPlainObject, type ObjectRef } from '../manifest/workloads.js';
import { appPortsOf, servicePortsOf, targetOf, type PortPlan } from '../model/ports.js';
import type { MtlsMode, Settings } from '../settings/types.js';

type Json = Record<string, unknown>;

/** What an Ingress names: a Service and one of its ports (by number or name; undefined: any). */
export interface IngressBackend {
  namespace: string;
  service: string;
  port?: number | string;
  ingress: string;
}

/** The backends of an Ingress: networking.k8s.io/v1 (`service.name`/`port`) and v1beta1 (`serviceName`/`servicePort`). */
export function ingressBackends(ingress: ObjectRef): IngressBackend[] {
  const spec = isPlainObject(ingress.value.spec) ? ingress.value.spec : {};
  const backends: unknown[] = [spec.defaultBackend, spec.backend];
  for (const rule of Array.isArray(spec.rules) ? spec.rules.filter(isPlainObject) : []) {
    const paths = getPath(rule, ['http', 'paths']);
    for (const path of Array.isArray(paths) ? paths.filter(isPlainObject) : []) backends.push(path.backend);
  }
  return backends.flatMap((b): IngressBackend[] => {
    if (!isPlainObject(b)) return [];
    const base = { namespace: ingress.namespace ?? '', ingress: ingress.name };
    if (isPlainObject(b.service) && typeof b.service.name === 'string') {
      const port = isPlainObject(b.service.port) ? (b.service.port.number ?? b.service.port.name) : undefined;
      return [{ ...base, service: b.service.name, ...(typeof port === 'number' || typeof port === 'string' ? { port } : {}) }];
    }
    if (typeof b.serviceName === 'string') {
      const port = b.servicePort;
      return [{ ...base, service: b.serviceName, ...(typeof port === 'number' || typeof port === 'string' ? { port } : {}) }];
    }
    return [];
  });
}

/** Why a Service port is public, or undefined. */
export function publicReason(service: ObjectRef, port: Json, backends: readonly IngressBackend[]): string | undefined {
  const spec = isPlainObject(service.value.spec) ? service.value.spec : {};
  const name = `Service/${service.name}`;
  if (spec.type === 'LoadBalancer' || spec.type === 'NodePort') return `${spec.type} ${name}`;
  if (Array.isArray(spec.externalIPs) && spec.externalIPs.length > 0) return `${name} with externalIPs`;
  const ingress = backends.find(
    (b) => b.namespace === (service.namespace ?? '') && b.service === service.name && (b.port === undefined || b.port === port.port || (port.name !== undefined && b.port === port.name)),
  );
  return ingress ? `${name}, backend of Ingress/${ingress.ingress}` : undefined;
}

/** App port -> why it is public, for a workload and the Services that select it. */
export function publicAppPorts(podSpec: Json, services: readonly ObjectRef[], backends: readonly IngressBackend[]): Map<number, string> {
  const out = new Map<number, string>();
  const ports = appPortsOf(podSpec);
  for (const service of services) {
    const list = getPath(service.value, ['spec', 'ports']);
    for (const port of Array.isArray(list) ? list.filter(isPlainObject) : []) {
      const why = publicReason(service, port, backends);
      const facts = why ? servicePortsOf({ spec: { ports: [port] } }, service.name)[0] : undefined;
      const target = facts && targetOf(facts, ports, podSpec);
      if (why && target && target.l4 === 'TCP' && !out.has(target.port)) out.set(target.port, why);
    }
  }
  return out;
}

/** How a listener treats client certificates: the workload's mode, but never strict for a public port. */
export type ListenerMtls = MtlsMode | 'edge';

export function listenerMtls(plan: PortPlan, mode: MtlsMode, settings: Settings): ListenerMtls {
  return mode === 'strict' && plan.public !== undefined ? settings.publicMtls : mode;
}

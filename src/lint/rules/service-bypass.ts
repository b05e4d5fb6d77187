/** A Service in front of a proxied workload sends traffic to the proxy, not straight to the app. */
import { workloadContext } from '../../inject/plan.js';
import { isPlainObject } from '../../manifest/workloads.js';
import type { Workload } from '../model.js';
import { portsOf, sameNamespace } from '../pod.js';
import type { Rule, RuleFinding } from '../types.js';

type Json = Record<string, unknown>;

/** The proxy's inbound port: a sidecar port named `*inbound` (sidecarctl names them so). */
function inboundPort(workload: Workload): number | undefined {
  const ports = workload.containers.filter((c) => c.role === 'sidecar').flatMap(portsOf);
  return ports.find((p) => p.name?.endsWith('inbound'))?.number;
}

function podLabels(workload: Workload): Json {
  return isPlainObject(workload.podMeta.labels) ? workload.podMeta.labels : {};
}

function selects(selector: Json, labels: Json): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** A targetPort (number, numeric string or port name) as a number, looked up in the pod's containers. */
function resolveTarget(target: unknown, workload: Workload): number | undefined {
  if (typeof target === 'number') return target;
  if (typeof target !== 'string') return undefined;
  if (/^\d+$/.test(target)) return Number(target);
  return workload.containers.flatMap(portsOf).find((p) => p.name === target)?.number;
}

export const serviceBypass: Rule = {
  id: 'service-bypass',
  severity: 'error',
  summary: 'a Service selecting a proxied workload targets the proxy\'s inbound port, not the app port behind it',
  check(model) {
    const out: RuleFinding[] = [];
    const proxied = model.workloads.flatMap((w) => {
      const inbound = inboundPort(w);
      const settings = w.settings();
      if (inbound === undefined || !settings.ok) return [];
      const appPort = workloadContext(w.ref, settings.settings).appPort;
      return appPort === undefined ? [] : [{ w, inbound, appPort }];
    });
    if (proxied.length === 0) return out;
    for (const service of model.objects.filter((o) => o.ref.kind === 'Service')) {
      const spec = isPlainObject(service.ref.value.spec) ? service.ref.value.spec : {};
      const selector = isPlainObject(spec.selector) ? spec.selector : {};
      const ports = Array.isArray(spec.ports) ? spec.ports : [];
      for (const { w, inbound, appPort } of proxied) {
        if (!sameNamespace(service.ref.namespace, w.ref.namespace) || !selects(selector, podLabels(w))) continue;
        ports.forEach((p, i) => {
          if (!isPlainObject(p)) return;
          const target = resolveTarget(p.targetPort ?? p.port, w);
          if (target !== appPort) return;
          out.push({
            at: service.at(['spec', 'ports', i, p.targetPort === undefined ? 'port' : 'targetPort']),
            message: `Service ${service.ref.name} port ${String(p.port)} sends traffic straight to app port ${appPort} of ${w.label}, bypassing its proxy (retries, rate limit, mTLS): set targetPort: ${inbound} (sidecarctl inject does this)`,
            subject: service,
          });
        });
      }
    }
    return out;
  },
};

/** Probes aimed at a port some container serves. */
import { isPlainObject } from '../../manifest/workloads.js';
import { portsOf, running } from '../pod.js';
import type { Rule, RuleFinding } from '../types.js';

const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;
const HANDLERS = ['httpGet', 'tcpSocket', 'grpc'] as const;

export const probePort: Rule = {
  id: 'probe-port',
  severity: 'error',
  summary: 'a probe\'s named port exists on its container; a numeric one is declared by some container of the pod (warning)',
  check(model) {
    const out: RuleFinding[] = [];
    for (const workload of model.workloads) {
      const declared = new Set(running(workload).flatMap(portsOf).map((p) => p.number));
      for (const container of running(workload)) {
        const own = portsOf(container);
        for (const probe of PROBES) {
          const spec = container.value[probe];
          if (!isPlainObject(spec)) continue;
          for (const handler of HANDLERS) {
            const action = spec[handler];
            if (!isPlainObject(action) || action.port === undefined) continue;
            const port = action.port;
            const at = workload.at([...container.path, probe, handler, 'port']);
            const base = { at, subject: workload, container: container.name };
            if (typeof port === 'string' && !/^\d+$/.test(port)) {
              if (!own.some((p) => p.name === port)) {
                const names = own.flatMap((p) => (p.name ? [p.name] : []));
                out.push({ ...base, message: `${probe} of ${container.name} uses port "${port}", which ${container.name} does not declare (its named ports: ${names.join(', ') || 'none'}): the kubelet cannot resolve it and the probe fails; name the port in ${container.name}.ports or use the number` });
              }
            } else if (declared.size > 0 && !declared.has(Number(port))) {
              out.push({ ...base, severity: 'warning', message: `${probe} of ${container.name} probes port ${String(port)}, which no container of the pod declares: check the port (the probe fails if nothing listens there) or declare it in ports` });
            }
          }
        }
      }
    }
    return out;
  },
};

/** Probes only on init containers that are native sidecars (`restartPolicy: Always`). */
import type { Rule, RuleFinding } from '../types.js';

const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;

export const initContainerProbes: Rule = {
  id: 'init-container-probes',
  severity: 'error',
  summary: 'probes are set only on init containers that are native sidecars (`restartPolicy: Always`)',
  check(model) {
    const out: RuleFinding[] = [];
    for (const workload of model.workloads) {
      for (const container of workload.containers.filter((c) => c.role === 'init')) {
        for (const probe of PROBES) {
          if (container.value[probe] === undefined || container.value[probe] === null) continue;
          out.push({
            at: workload.at([...container.path, probe]),
            message: `init container ${container.name} has a ${probe} but is not a native sidecar: the API server rejects it; add restartPolicy: Always (a sidecar, Kubernetes >= 1.29) or remove the probe`,
            subject: workload,
            container: container.name,
          });
        }
      }
    }
    return out;
  },
};

/** No two containers of a pod declare the same port: they share one network namespace, the second cannot bind. */
import { portsOf, running } from '../pod.js';
import type { Rule, RuleFinding } from '../types.js';

export const portCollision: Rule = {
  id: 'port-collision',
  severity: 'error',
  summary: 'no two running containers of a pod (including native sidecars) declare the same port and protocol',
  check(model) {
    const out: RuleFinding[] = [];
    for (const workload of model.workloads) {
      const seen = new Map<string, string>();
      for (const port of running(workload).flatMap(portsOf)) {
        const key = `${port.number}/${port.protocol}`;
        const first = seen.get(key);
        if (first === undefined) {
          seen.set(key, port.container.name);
          continue;
        }
        if (first === port.container.name) continue; // within one container the API server's own check applies
        out.push({
          at: workload.at([...port.container.path, 'ports', port.index, 'containerPort']),
          message: `port ${key} of container ${port.container.name} is also declared by container ${first}; containers of a pod share its network, so one of them cannot listen: move one (for sidecarctl's sidecars: --proxy-port / --admin-port)`,
          subject: workload,
          container: port.container.name,
        });
      }
    }
    return out;
  },
};

/** Sidecars with CPU and memory requests and a memory limit, so they are scheduled and cannot starve the app. */
import { isPlainObject } from '../../manifest/workloads.js';
import { hygieneSeverity, sidecars } from '../pod.js';
import type { Rule } from '../types.js';

const REQUIRED: [section: 'requests' | 'limits', resource: string][] = [
  ['requests', 'cpu'],
  ['requests', 'memory'],
  ['limits', 'memory'],
];

export const sidecarResources: Rule = {
  id: 'sidecar-resources',
  severity: 'error',
  summary: 'sidecars set CPU and memory requests and a memory limit',
  check(model) {
    return sidecars(model).flatMap(({ workload, container }) => {
      const severity = hygieneSeverity(workload, container);
      if (!severity) return [];
      const resources = isPlainObject(container.value.resources) ? container.value.resources : {};
      const missing = REQUIRED.filter(([section, resource]) => {
        const values = resources[section];
        return !isPlainObject(values) || values[resource] === undefined || values[resource] === null;
      }).map(([s, r]) => `${s}.${r}`);
      if (missing.length === 0) return [];
      const path = [...container.path, ...(container.value.resources === undefined ? ['name'] : ['resources'])];
      return [{
        at: workload.at(path),
        message: `sidecar ${container.name} has no resources.${missing.join(', resources.')}: set them (e.g. requests cpu 100m, memory 128Mi; limits memory 256Mi) so it is scheduled with room and cannot take the app's memory`,
        severity,
        subject: workload,
        container: container.name,
      }];
    });
  },
};

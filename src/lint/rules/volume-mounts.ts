/** Every volumeMount names a volume the pod declares. */
import { isPlainObject } from '../../manifest/workloads.js';
import type { Rule, RuleFinding } from '../types.js';

export const volumeMounts: Rule = {
  id: 'volume-mounts',
  severity: 'error',
  summary: 'every volumeMount names a volume declared in the pod\'s volumes',
  check(model) {
    const out: RuleFinding[] = [];
    for (const workload of model.workloads) {
      const volumes = Array.isArray(workload.spec.volumes) ? workload.spec.volumes : [];
      // A StatefulSet's volumeClaimTemplates are volumes of its pods too.
      const spec = workload.ref.value.spec;
      const claims = isPlainObject(spec) && Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : [];
      const claimNames = claims.flatMap((c) => (isPlainObject(c) && isPlainObject(c.metadata) && typeof c.metadata.name === 'string' ? [c.metadata.name] : []));
      const names = new Set([...volumes.flatMap((v) => (isPlainObject(v) && typeof v.name === 'string' ? [v.name] : [])), ...claimNames]);
      for (const container of workload.containers) {
        const mounts = Array.isArray(container.value.volumeMounts) ? container.value.volumeMounts : [];
        mounts.forEach((mount, i) => {
          if (!isPlainObject(mount) || typeof mount.name !== 'string' || names.has(mount.name)) return;
          out.push({
            at: workload.at([...container.path, 'volumeMounts', i, 'name']),
            message: `container ${container.name} mounts volume "${mount.name}", which the pod does not declare: add it to spec.volumes (the API server rejects the pod)`,
            subject: workload,
            container: container.name,
          });
        });
      }
    }
    return out;
  },
};

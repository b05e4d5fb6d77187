/** A Job or CronJob whose sidecar is a plain container never completes: the sidecar keeps running. */
import type { Rule } from '../types.js';

export const jobSidecar: Rule = {
  id: 'job-sidecar',
  severity: 'error',
  summary: 'Jobs and CronJobs run their sidecars as native sidecars, or the pod never completes',
  check(model) {
    return model.workloads
      .filter((w) => w.ref.kind === 'Job' || w.ref.kind === 'CronJob')
      .flatMap((workload) =>
        workload.containers
          .filter((c) => c.role === 'sidecar' && !c.native)
          .map((container) => ({
            at: workload.at([...container.path, 'name']),
            message: `sidecar ${container.name} of ${workload.ref.kind} ${workload.ref.name} is a plain container: it keeps running after the job's work ends, so the ${workload.ref.kind} never completes; make it a native sidecar (move it to initContainers with restartPolicy: Always, Kubernetes >= 1.29; sidecarctl inject does this unless --no-native-sidecar)`,
            subject: workload,
            container: container.name,
          })),
      );
  },
};

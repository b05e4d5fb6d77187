/** The config-hash annotation matches the sidecar config it was computed from, so a config change rolls the pods. */
import { configHash } from '../../inject/plan.js';
import { HASH_ANNOTATION } from '../../inject/status.js';
import { getPath } from '../../manifest/edit-ops.js';
import { isPlainObject, podMetadataPath } from '../../manifest/workloads.js';
import { findReferenced } from '../pod.js';
import type { Rule, RuleFinding } from '../types.js';

export const configHashRule: Rule = {
  id: 'config-hash',
  severity: 'error',
  summary: `the \`${HASH_ANNOTATION}\` annotation matches the sidecar ConfigMap and containers (else a config change does not roll the pods)`,
  check(model) {
    const out: RuleFinding[] = [];
    for (const workload of model.workloads) {
      const { status } = workload;
      const recorded = getPath(workload.podMeta, ['annotations', HASH_ANNOTATION]);
      if (!status || typeof recorded !== 'string') continue;
      const cmName = status.objects.find((o) => o.kind === 'ConfigMap')?.name;
      const cm = findReferenced(model, 'ConfigMap', cmName, workload);
      // Without the ConfigMap there is nothing to compare: missing-reference says it is absent.
      if (!cm || !isPlainObject(cm.ref.value.data)) continue;
      const files = Object.fromEntries(Object.entries(cm.ref.value.data).map(([k, v]) => [k, String(v)]));
      const names = [...status.initContainers, ...status.containers];
      const containers = names.flatMap((name) => workload.containers.filter((c) => c.name === name).map((c) => c.value));
      const actual = configHash(files, containers);
      if (actual === recorded) continue;
      out.push({
        at: workload.at([...podMetadataPath(workload.ref.kind), 'annotations', HASH_ANNOTATION]),
        message: `${HASH_ANNOTATION} ${recorded} does not match the sidecar config in ConfigMap ${cm.ref.name} and the sidecar containers (now ${actual}): the config was edited by hand, so pods will not roll to it; run sidecarctl inject again (or set the annotation to ${actual})`,
        subject: workload,
      });
    }
    return out;
  },
};

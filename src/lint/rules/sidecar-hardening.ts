/** Sidecars hardened: non-root, read-only root filesystem, no privilege escalation, no added capabilities, not privileged. */
import { isPlainObject } from '../../manifest/workloads.js';
import type { Path } from '../locate.js';
import { hygieneSeverity, sidecars } from '../pod.js';
import type { Rule, RuleFinding } from '../types.js';

type Json = Record<string, unknown>;

export const sidecarHardening: Rule = {
  id: 'sidecar-hardening',
  severity: 'error',
  summary: 'sidecars run as non-root with a read-only root filesystem, no privilege escalation, no added capabilities, not privileged',
  check(model) {
    return sidecars(model).flatMap(({ workload, container }) => {
      const severity = hygieneSeverity(workload, container);
      if (!severity) return [];
      const sc: Json = isPlainObject(container.value.securityContext) ? container.value.securityContext : {};
      const pod: Json = isPlainObject(workload.spec.securityContext) ? workload.spec.securityContext : {};
      const scPath = [...container.path, 'securityContext'];
      const at = (key?: string): Path => (key && key in sc ? [...scPath, key] : container.value.securityContext ? scPath : [...container.path, 'name']);
      const problems: [Path, string][] = [];
      // Container settings win over the pod's; either may make it non-root.
      const runAsNonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
      const runAsUser = sc.runAsUser ?? pod.runAsUser;
      if (runAsUser === 0) problems.push([at('runAsUser'), 'runs as root (runAsUser: 0): set a non-zero runAsUser and runAsNonRoot: true']);
      else if (runAsNonRoot !== true && !(typeof runAsUser === 'number' && runAsUser > 0)) problems.push([at('runAsNonRoot'), 'may run as root: set securityContext.runAsNonRoot: true (and a runAsUser)']);
      if (sc.readOnlyRootFilesystem !== true) problems.push([at('readOnlyRootFilesystem'), 'has a writable root filesystem: set securityContext.readOnlyRootFilesystem: true (mount an emptyDir where it must write)']);
      if (sc.allowPrivilegeEscalation !== false) problems.push([at('allowPrivilegeEscalation'), 'allows privilege escalation: set securityContext.allowPrivilegeEscalation: false']);
      if (sc.privileged === true) problems.push([at('privileged'), 'is privileged: remove securityContext.privileged (a sidecar never needs the host)']);
      const caps = isPlainObject(sc.capabilities) ? sc.capabilities : {};
      if (Array.isArray(caps.add) && caps.add.length > 0) problems.push([[...scPath, 'capabilities', 'add'], `adds capabilities ${caps.add.join(', ')}: remove capabilities.add and drop ALL`]);
      return problems.map(([path, text]): RuleFinding => ({ at: workload.at(path), message: `sidecar ${container.name} ${text}`, severity, subject: workload, container: container.name }));
    });
  },
};

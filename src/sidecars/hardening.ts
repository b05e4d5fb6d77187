/** Secure defaults shared by every sidecar container. */
import type { Json } from './types.js';

/** Non-root, read-only root filesystem, no privilege escalation, no capabilities, default seccomp. */
export function hardenedSecurityContext(uid: number): Json {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Seconds a sidecar may spend draining: below the pod's grace period, leaving time to exit. */
export function drainSeconds(podSpec: Json): number {
  const grace = typeof podSpec.terminationGracePeriodSeconds === 'number' ? podSpec.terminationGracePeriodSeconds : 30;
  return Math.max(1, Math.min(15, Math.floor(grace / 2)));
}

/**
 * Why a workload is left alone: a stable code that scripts and tests match (in `--report json`:
 * `skip`), with a sentence for people. As linkerd2's pkg/inject/report.go names its reasons.
 */
export const SKIP = {
  /** `sidecarctl.io/inject: "false"` on the workload or its pod template. */
  disabled: 'disabled',
  hostNetwork: 'host-network',
  /** Another mesh's proxy is there, or another mesh injects it. */
  otherMesh: 'other-mesh',
  /** `--proxy none` and `--logging none`. */
  nothingToInject: 'nothing-to-inject',
  /** No `containers` (a kustomize patch, a values overlay). */
  partialWorkload: 'partial-workload',
  /** A Job/CronJob/bare Pod with plain-container sidecars would never complete. */
  wouldNotComplete: 'would-not-complete',
  /** No port the proxy can carry and no upstream (and no log shipper asked for). */
  noPort: 'no-port',
  /** A collection inject adds to is written as a bare `key:`. */
  nullCollection: 'null-collection',
  /** A container or volume name inject uses is taken. */
  nameTaken: 'name-taken',
  /** The app already mounts something at the log directory. */
  logMountTaken: 'log-mount-taken',
  /** A sidecar port is also an app port. */
  portClash: 'port-clash',
  /** An edit would change a node another part of the file shares through a YAML alias or `<<` merge. */
  sharedAnchor: 'shared-anchor',
  /** Left out by the caller (the profile's `workloads:` list). */
  notSelected: 'not-selected',
} as const;

export type SkipCode = (typeof SKIP)[keyof typeof SKIP];

export interface Skip {
  code: SkipCode;
  reason: string;
}

export function skip(code: SkipCode, reason: string): Skip {
  return { code, reason };
}

/** What a sidecar module gets to know about a workload, and what it gives back. */
import type { PortPlan } from '../model/ports.js';
import type { Settings } from '../settings/types.js';

export type Json = Record<string, unknown>;

export interface WorkloadContext {
  settings: Settings;
  kind: string;
  name: string;
  namespace?: string;
  serviceAccount: string;
  /** The pod spec as plain data (read-only). */
  podSpec: Json;
  /** Name of the app's main container. */
  appContainer: string;
  /** Every app port: its protocol, where that was learnt, and its proxy listener or why it has none. */
  ports: PortPlan[];
  /** The first proxied app port (its listener is proxy-port), when some port is proxied. */
  appPort?: number;
  /** Name of the ConfigMap that carries every sidecar config of this workload. */
  configMapName: string;
  /** Where that ConfigMap is mounted in every sidecar. */
  configDir: string;
  /** Runs to completion (Job, CronJob, bare Pod with restartPolicy Never/OnFailure). */
  runsToCompletion: boolean;
  /** DNS names of the Services in the input that select this workload (for its mTLS certificate), when known. */
  serviceDnsNames?: string[];
}

export interface SidecarContribution {
  /** Sidecar containers; the injector makes them native sidecars or plain containers. */
  containers: Json[];
  volumes: Json[];
  /** Mounts added to the app container(s). */
  appMounts: Json[];
  /** Files for the shared ConfigMap (file name -> content). */
  configFiles: Record<string, string>;
  podAnnotations: Record<string, string>;
  /** Extra objects (e.g. cert-manager Certificates). */
  objects: Json[];
  /** Ports the sidecar listens on, to check against the app's ports. */
  ports: number[];
  /** Lines for the report. */
  notes: string[];
}

export function emptyContribution(): SidecarContribution {
  return { containers: [], volumes: [], appMounts: [], configFiles: {}, podAnnotations: {}, objects: [], ports: [], notes: [] };
}

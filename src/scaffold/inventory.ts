/**
 * What scaffold shows before it asks anything: the workloads in the input, their ports, the port the
 * proxy would front, and the ones inject would leave alone whatever the answers (another mesh,
 * hostNetwork, `sidecarctl.io/inject: "false"`).
 */
import { getPath } from '../manifest/edit-ops.js';
import { lineOf, type SourceFile } from '../manifest/source.js';
import { describe, isPlainObject, isWorkloadKind, objectsOf, POD_SPEC_PATHS, podMetadataPath, type ObjectRef } from '../manifest/workloads.js';
import { detectAppPort, mainContainer, skipReason } from '../inject/plan.js';
import { DEFAULT_SETTINGS } from '../settings/options.js';
import type { Json } from '../sidecars/types.js';

export interface PortInfo {
  container: string;
  port: number;
  name?: string;
  protocol: string;
}

export interface WorkloadInfo {
  /** As reports print it, and as the profile's `workloads:` list names it: `Deployment/shop/web`. */
  id: string;
  kind: string;
  name: string;
  namespace?: string;
  file: string;
  line: number;
  ports: PortInfo[];
  /** The port the proxy would front unless --app-port says otherwise. */
  appPort?: number;
  /** Why inject leaves it alone whatever the settings; such workloads are not offered. */
  excluded?: string;
}

function portsOf(spec: Json): PortInfo[] {
  const containers = Array.isArray(spec.containers) ? spec.containers.filter(isPlainObject) : [];
  return containers.flatMap((c) =>
    (Array.isArray(c.ports) ? c.ports.filter(isPlainObject) : [])
      .filter((p) => typeof p.containerPort === 'number')
      .map((p) => ({
        container: String(c.name),
        port: p.containerPort as number,
        ...(typeof p.name === 'string' ? { name: p.name } : {}),
        protocol: typeof p.protocol === 'string' ? p.protocol : 'TCP',
      })),
  );
}

function workloadInfo(source: SourceFile, ref: ObjectRef): WorkloadInfo {
  const spec = getPath(ref.value, POD_SPEC_PATHS[ref.kind]!);
  const podSpec: Json = isPlainObject(spec) ? spec : {};
  const hasContainers = Array.isArray(podSpec.containers) && podSpec.containers.some(isPlainObject);
  const appPort = hasContainers ? detectAppPort(mainContainer(podSpec, getPath(ref.value, podMetadataPath(ref.kind)))) : undefined;
  // Malformed pod specs are inject's to report (with file:line); here they only are not offered.
  const excluded = hasContainers ? skipReason(ref, DEFAULT_SETTINGS)?.reason : 'no containers';
  return {
    id: describe(ref),
    kind: ref.kind,
    name: ref.name,
    ...(ref.namespace ? { namespace: ref.namespace } : {}),
    file: source.path,
    line: lineOf(source, (ref.node.range ?? [0])[0]),
    ports: portsOf(podSpec),
    ...(appPort !== undefined ? { appPort } : {}),
    ...(excluded ? { excluded } : {}),
  };
}

export function inventory(sources: SourceFile[]): WorkloadInfo[] {
  return sources.flatMap((source) =>
    source.docs.flatMap((doc, i) => objectsOf(doc, i).filter((ref) => isWorkloadKind(ref.kind)).map((ref) => workloadInfo(source, ref))),
  );
}

/** The listing shown first, one workload a line plus its ports. */
export function formatInventory(workloads: WorkloadInfo[]): string {
  if (workloads.length === 0) return 'No workloads found.\n';
  const lines = [`Found ${workloads.length} workload${workloads.length === 1 ? '' : 's'}:`];
  for (const w of workloads) {
    lines.push(`  ${w.id}  (${w.file}:${w.line})`);
    const ports = w.ports.map((p) => `${p.container}:${p.port}${p.name ? `/${p.name}` : ''}${p.protocol === 'TCP' ? '' : ` ${p.protocol}`}`);
    lines.push(`      ports: ${ports.length > 0 ? ports.join(', ') : 'none'}${w.appPort !== undefined ? `; the proxy fronts ${w.appPort}` : ''}`);
    if (w.excluded) lines.push(`      left alone: ${w.excluded}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Deciding what to do with one workload: skip it (with a reason), or the sidecars, volumes, mounts,
 * annotations and objects it gets, expressed as EditOps on the object.
 */
import { createHash } from 'node:crypto';
import { UserError } from '../errors.js';
import type { EditOp, Path } from '../manifest/edit-ops.js';
import { getPath } from '../manifest/edit-ops.js';
import { isPlainObject, POD_SPEC_PATHS, podMetadataPath, type ObjectRef } from '../manifest/workloads.js';
import type { Settings } from '../settings/types.js';
import { skip, SKIP, type Skip } from './skips.js';
import { describePort, planPorts, proxiedPorts, type ServicePortFacts } from '../model/ports.js';
import { selectedKinds } from '../sidecars/registry.js';
import { generatedPolicy, networkPolicyOn, openPorts, policyName } from '../network/generated.js';
import { appAddressOf } from '../network/addresses.js';
import { ENVOY_METRICS_PORT } from '../sidecars/envoy/config.js';
import { FLUENT_BIT_HTTP_PORT } from '../sidecars/logging/fluent-bit.js';
import { FLUENTD_MONITOR_PORT } from '../sidecars/logging/fluentd.js';
import { PROXY_JSON_LOG_PORT, PROXY_LOG_PORT } from '../sidecars/logging/proxy-log.js';
import { emptyContribution, type Json, type SidecarContribution, type WorkloadContext } from '../sidecars/types.js';
import { formatStatus, HASH_ANNOTATION, INJECT_ANNOTATION, MANAGED_BY, MANAGED_BY_LABEL, STATUS_ANNOTATION, type WorkloadStatus } from './status.js';

export const CONFIG_VOLUME = 'sidecarctl-config';
/** Envoy's metrics listener, Fluent Bit's and Fluentd's monitors, the proxies' log inputs. */
const SIDECAR_FIXED_PORTS = [ENVOY_METRICS_PORT, FLUENT_BIT_HTTP_PORT, FLUENTD_MONITOR_PORT, PROXY_LOG_PORT, PROXY_JSON_LOG_PORT];
export const CONFIG_DIR = '/etc/sidecarctl';

export type Decision =
  | ({ action: 'skip' } & Skip)
  | { action: 'inject'; ops: EditOp[]; objects: Json[]; status: WorkloadStatus; notes: string[]; context: WorkloadContext };

/** Proxies of other meshes: a second proxy in the same pod would fight over the traffic. */
const MESH_CONTAINERS = ['istio-proxy', 'istio-init', 'linkerd-proxy', 'linkerd-init', 'envoy-sidecar', 'consul-dataplane'];
const MESH_MARKERS: [string, (value: string) => boolean][] = [
  ['sidecar.istio.io/status', () => true],
  ['sidecar.istio.io/inject', (v) => v === 'true'],
  ['linkerd.io/proxy-version', () => true],
  ['linkerd.io/inject', (v) => v === 'enabled' || v === 'ingress'],
  ['consul.hashicorp.com/connect-inject', (v) => v === 'true'],
];

function annotationsOf(meta: unknown): Record<string, unknown> {
  return isPlainObject(meta) && isPlainObject(meta.annotations) ? meta.annotations : {};
}

function labelsOf(meta: unknown): Record<string, unknown> {
  return isPlainObject(meta) && isPlainObject(meta.labels) ? meta.labels : {};
}

function containersOf(spec: Json, key: 'containers' | 'initContainers'): Json[] {
  const list = spec[key];
  return Array.isArray(list) ? (list.filter(isPlainObject) as Json[]) : [];
}

/**
 * A workload without `containers` is not a whole workload but a piece of one: a kustomize patch or
 * a Helm values overlay. The API would refuse it; as a file in a repository it is fine.
 */
export const SKIP_PARTIAL = skip(SKIP.partialWorkload, 'partial workload (no spec.containers, as in a kustomize patch): nothing to inject');

function isPartialWorkload(spec: unknown): boolean {
  return isPlainObject(spec) && spec.containers === undefined;
}

/** The reason to leave a workload alone, if there is one. */
export function skipReason(ref: ObjectRef, settings: Settings): Skip | undefined {
  const specPath = POD_SPEC_PATHS[ref.kind]!;
  const spec = getPath(ref.value, specPath) as Json;
  const podMeta = getPath(ref.value, podMetadataPath(ref.kind));
  if (isPartialWorkload(spec)) return SKIP_PARTIAL;
  for (const meta of [ref.value.metadata, podMeta]) {
    if (String(annotationsOf(meta)[INJECT_ANNOTATION] ?? '') === 'false') return skip(SKIP.disabled, `disabled by ${INJECT_ANNOTATION}: "false"`);
  }
  if (spec.hostNetwork === true) return skip(SKIP.hostNetwork, 'hostNetwork pod: sidecar ports would bind on the node and collide across pods');
  const names = [...containersOf(spec, 'containers'), ...containersOf(spec, 'initContainers')].map((c) => String(c.name));
  const mesh = names.find((n) => MESH_CONTAINERS.includes(n));
  if (mesh) return skip(SKIP.otherMesh, `already has another mesh's proxy (container ${mesh})`);
  for (const meta of [ref.value.metadata, podMeta]) {
    const marks = { ...labelsOf(meta), ...annotationsOf(meta) };
    for (const [key, matches] of MESH_MARKERS) {
      if (key in marks && matches(String(marks[key]))) return skip(SKIP.otherMesh, `another mesh injects it (${key}: ${String(marks[key])})`);
    }
  }
  if (settings.proxy === 'none' && settings.logging === 'none') return skip(SKIP.nothingToInject, 'nothing to inject (--proxy none and --logging none)');
  return undefined;
}

/** Check the pod spec has the shape we edit; wrong shapes are bad input, not something to skip. */
export function checkPodSpecShape(ref: ObjectRef, file: string, locate: (path: Path) => number | undefined): void {
  const specPath = POD_SPEC_PATHS[ref.kind]!;
  const fail = (path: Path, message: string): never => {
    throw new UserError(`${ref.kind} ${ref.name || '(unnamed)'}: ${message}`, file, locate(path));
  };
  const spec = getPath(ref.value, specPath);
  if (!isPlainObject(spec)) fail(specPath, `${specPath.join('.')} must be a map`);
  if (isPartialWorkload(spec)) return; // skipped (SKIP_PARTIAL), not an error
  for (const key of ['containers', 'initContainers', 'volumes'] as const) {
    const list = (spec as Json)[key];
    if (list === undefined || (key !== 'containers' && list === null)) continue;
    if (!Array.isArray(list)) fail([...specPath, key], `${key} must be a list`);
    (list as unknown[]).forEach((item, i) => {
      if (!isPlainObject(item) || typeof item.name !== 'string' || item.name === '') fail([...specPath, key, i], `${key}[${i}] must be a map with a name`);
    });
  }
  if (!Array.isArray((spec as Json).containers) || ((spec as Json).containers as unknown[]).length === 0) {
    fail(specPath, 'a pod needs at least one container in spec.containers');
  }
  const template = specPath.slice(0, -1);
  const meta = getPath(ref.value, [...template, 'metadata']);
  if (meta !== undefined && !isPlainObject(meta)) fail([...template, 'metadata'], 'metadata must be a map');
  if (isPlainObject(meta) && meta.annotations !== undefined && !isPlainObject(meta.annotations)) {
    fail([...template, 'metadata', 'annotations'], 'annotations must be a map of strings');
  }
}

/** The main container: `kubectl.kubernetes.io/default-container`, else the first one. */
export function mainContainer(spec: Json, podMeta: unknown): Json {
  const containers = containersOf(spec, 'containers');
  const preferred = annotationsOf(podMeta)['kubectl.kubernetes.io/default-container'];
  return containers.find((c) => c.name === preferred) ?? containers[0]!;
}

/** First TCP containerPort of the main container. */
export function detectAppPort(container: Json): number | undefined {
  const ports = Array.isArray(container.ports) ? container.ports.filter(isPlainObject) : [];
  const tcp = ports.find((p) => (p.protocol ?? 'TCP') === 'TCP' && typeof p.containerPort === 'number');
  return tcp ? (tcp.containerPort as number) : undefined;
}

/** What the workload's Services tell about it: their DNS names (for certificates) and their ports. */
export interface ServiceFacts {
  serviceDnsNames?: string[];
  servicePorts?: ServicePortFacts[];
  /** App ports the internet reaches, with why (src/network/public.ts). */
  publicPorts?: Map<number, string>;
  /** App ports an IPv6 or dual-stack Service reaches. */
  ipv6Ports?: Set<number>;
}

/** Ports the sidecars listen on besides the inbound listeners: listeners never take these. */
function sidecarPorts(settings: Settings): number[] {
  return [settings.adminPort, ...SIDECAR_FIXED_PORTS, ...settings.upstreams.map((u) => u.localPort)];
}

export function workloadContext(ref: ObjectRef, settings: Settings, facts: ServiceFacts = {}): WorkloadContext {
  const spec = getPath(ref.value, POD_SPEC_PATHS[ref.kind]!) as Json;
  const podMeta = getPath(ref.value, podMetadataPath(ref.kind));
  return podContext(spec, ref.kind, ref.name, settings, { ...facts, podMeta, ...(ref.namespace ? { namespace: ref.namespace } : {}) });
}

/** The context of a pod spec (of a workload in the input, or a made-up one for `render` without a file). */
export function podContext(
  spec: Json,
  kind: string,
  name: string,
  settings: Settings,
  facts: ServiceFacts & { podMeta?: unknown; namespace?: string } = {},
): WorkloadContext {
  const main = mainContainer(spec, facts.podMeta);
  const restartPolicy = spec.restartPolicy;
  const publicPorts = facts.publicPorts ?? new Map<number, string>();
  let ports = planPorts(spec, facts.servicePorts ?? [], settings, { reserved: sidecarPorts(settings) }).map((p) => {
    const why = p.l4 === 'TCP' ? publicPorts.get(p.port) : undefined;
    const ipv6 = p.l4 === 'TCP' && facts.ipv6Ports?.has(p.port) === true;
    return { ...p, ...(why ? { public: why } : {}), ...(ipv6 ? { ipv6: true as const } : {}) };
  });
  // Where the app listens: the setting, or the pod IP when the app takes it from the downward API.
  const where = appAddressOf(spec, settings.appAddress);
  if (settings.appAddress === undefined) settings = { ...settings, appAddress: where.address };
  if (where.address === 'pod-ip' && settings.proxy === 'bundled') {
    // The bundled proxy's config has no way to name the pod IP (it dials a fixed host): a listener
    // in front of such an app would break its Service, so its ports are left alone.
    const why = `not proxied: the app listens on the pod IP (${where.detected ? `$${where.detected} from status.podIP` : 'app-address pod-ip'}) and the bundled proxy dials 127.0.0.1 only; use --proxy envoy`;
    ports = ports.map(({ listener: _listener, ...p }) => (p.l4 === 'TCP' && p.notProxied === undefined ? { ...p, notProxied: why } : p));
  }
  const appPort = proxiedPorts(ports)[0]?.port;
  const { serviceDnsNames } = facts;
  return {
    settings,
    kind,
    name,
    ...(facts.namespace ? { namespace: facts.namespace } : {}),
    serviceAccount: typeof spec.serviceAccountName === 'string' ? spec.serviceAccountName : 'default',
    podSpec: spec,
    appContainer: String(main.name),
    ports,
    ...(appPort !== undefined ? { appPort } : {}),
    configMapName: `${name}-sidecarctl`.slice(0, 253),
    configDir: CONFIG_DIR,
    ...(serviceDnsNames && serviceDnsNames.length > 0 ? { serviceDnsNames } : {}),
    runsToCompletion: kind === 'Job' || kind === 'CronJob' || (kind === 'Pod' && (restartPolicy === 'Never' || restartPolicy === 'OnFailure')),
  };
}

function merge(parts: SidecarContribution[]): SidecarContribution {
  const out = emptyContribution();
  for (const p of parts) {
    out.containers.push(...p.containers);
    out.volumes.push(...p.volumes);
    out.appMounts.push(...p.appMounts);
    Object.assign(out.configFiles, p.configFiles);
    Object.assign(out.podAnnotations, p.podAnnotations);
    out.objects.push(...p.objects);
    out.ports.push(...p.ports);
    out.notes.push(...p.notes);
  }
  return out;
}

/** What each selected sidecar kind adds (src/sidecars/registry.ts: shippers first, then the proxy). */
function contributions(ctx: WorkloadContext): SidecarContribution[] {
  return selectedKinds(ctx.settings).map((kind) => kind.contribute(ctx, CONFIG_VOLUME));
}

/** A short content hash of the generated configs: changes whenever a sidecar's config changes. */
export function configHash(files: Record<string, string>, containers: Json[]): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(files).sort()) hash.update(`${name}\0${files[name]}\0`);
  hash.update(JSON.stringify(containers));
  return hash.digest('hex').slice(0, 16);
}

export function configMapFor(ctx: WorkloadContext, files: Record<string, string>): Json {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: ctx.configMapName,
      ...(ctx.namespace ? { namespace: ctx.namespace } : {}),
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, 'sidecarctl.io/workload': ctx.name.slice(0, 63) },
    },
    data: Object.fromEntries(Object.keys(files).sort().map((k) => [k, files[k]])),
  };
}

/** Plan the injection of one (not yet injected) workload. */
export function planInjection(ref: ObjectRef, requested: Settings, opts: { wrapsJson?: boolean; policies?: string[] } & ServiceFacts = {}): Decision {
  const reason = skipReason(ref, requested);
  if (reason) return { action: 'skip', ...reason };
  let ctx = workloadContext(ref, requested, opts);
  const specPath = POD_SPEC_PATHS[ref.kind]!;
  const metaPath = podMetadataPath(ref.kind);
  const spec = ctx.podSpec;
  const earlyNotes: string[] = [];
  if (!requested.nativeSidecar && ctx.runsToCompletion) {
    return { action: 'skip', code: SKIP.wouldNotComplete, reason: `plain-container sidecars would keep this ${ref.kind} from ever completing: use native sidecars (drop --no-native-sidecar)` };
  }
  if (requested.proxy !== 'none' && ctx.appPort === undefined && requested.upstreams.length === 0) {
    const why =
      ctx.ports.length === 0
        ? `no app port found and no --upstream: the proxy would have nothing to do (set --app-port or sidecarctl.io/app-port)`
        : `no port the proxy can carry (${ctx.ports.map(describePort).join('; ')}) and no --upstream: the proxy would have nothing to do`;
    if (requested.logging === 'none') return { action: 'skip', code: SKIP.noPort, reason: why };
    // The shipper still has work: inject it alone rather than an idle proxy.
    earlyNotes.push(`${why}; log shipper only`);
    ctx = workloadContext(ref, { ...requested, proxy: 'none', mtls: 'off' }, opts);
  }
  const settings = ctx.settings;
  const nullKey = nullCollection(spec, getPath(ref.value, metaPath));
  if (nullKey) return { action: 'skip', code: SKIP.nullCollection, reason: `${nullKey} is empty (null): remove it or give it a value, and inject again` };
  const parts = merge(contributions(ctx));

  // Our names and ports must not collide with the pod's own.
  const allContainers = [...containersOf(spec, 'containers'), ...containersOf(spec, 'initContainers')];
  for (const c of parts.containers) {
    if (allContainers.some((existing) => existing.name === c.name)) return { action: 'skip', code: SKIP.nameTaken, reason: `the pod already has a container named ${String(c.name)}` };
  }
  const volumes = Array.isArray(spec.volumes) ? spec.volumes.filter(isPlainObject) : [];
  for (const name of [CONFIG_VOLUME, ...parts.volumes.map((v) => v.name)]) {
    if (volumes.some((v) => v.name === name)) return { action: 'skip', code: SKIP.nameTaken, reason: `the pod already has a volume named ${String(name)}` };
  }
  const mountTargets = appMountTargets(spec, ctx.appContainer, parts.appMounts);
  if (typeof mountTargets === 'string') return { action: 'skip', code: SKIP.logMountTaken, reason: mountTargets };
  const appPorts = new Set(allContainers.flatMap((c) => (Array.isArray(c.ports) ? c.ports.filter(isPlainObject).map((p) => p.containerPort) : [])));
  const clash = parts.ports.find((p) => appPorts.has(p));
  if (clash !== undefined) return { action: 'skip', code: SKIP.portClash, reason: `port ${clash} is used by the app and by the sidecar: choose others with --proxy-port/--admin-port` };

  const configVolume: Json = { name: CONFIG_VOLUME, configMap: { name: ctx.configMapName } };
  const sidecars = parts.containers.map((c) => (settings.nativeSidecar ? { ...c, restartPolicy: 'Always' } : withoutStartupProbe(c)));
  const hash = configHash(parts.configFiles, sidecars);
  const podMeta = getPath(ref.value, metaPath);
  const existingAnnotations = annotationsOf(podMeta);
  // Never overwrite an annotation the user set (e.g. their own prometheus.io/* for the app).
  const addedAnnotations = Object.entries(parts.podAnnotations).filter(([k]) => !(k in existingAnnotations));
  const created: string[] = [];
  if (podMeta === undefined) created.push('metadata');
  else if (!isPlainObject(podMeta) || (podMeta as Json).annotations === undefined) created.push('metadata.annotations');
  const sidecarKey = settings.nativeSidecar ? 'initContainers' : 'containers';
  if (spec[sidecarKey] === undefined) created.push(`spec.${sidecarKey}`);
  if (spec.volumes === undefined) created.push('spec.volumes');

  const mounts: Record<string, string[]> = {};
  const ops: EditOp[] = [];
  // Native sidecars go first among init containers so they run before any other init container.
  ops.push({ op: 'insertItems', path: [...specPath, sidecarKey], at: settings.nativeSidecar ? 'start' : 'end', values: sidecars });
  ops.push({ op: 'insertItems', path: [...specPath, 'volumes'], at: 'end', values: [configVolume, ...parts.volumes] });
  for (const { index, container } of mountTargets) {
    const name = String(container.name);
    if (container.volumeMounts === undefined) created.push(`containers.${name}.volumeMounts`);
    ops.push({ op: 'insertItems', path: [...specPath, 'containers', index, 'volumeMounts'], at: 'end', values: parts.appMounts });
    mounts[name] = parts.appMounts.map((m) => String(m.name));
  }
  const configMap = configMapFor(ctx, parts.configFiles);
  const objects = [configMap, ...parts.objects];
  const policyNotes = networkPolicyNotes(ctx, objects, getPath(ref.value, [...metaPath, 'labels']), opts.policies ?? []);
  const status: WorkloadStatus = {
    v: 1,
    initContainers: settings.nativeSidecar ? sidecars.map((c) => String(c.name)) : [],
    containers: settings.nativeSidecar ? [] : sidecars.map((c) => String(c.name)),
    volumes: [CONFIG_VOLUME, ...parts.volumes.map((v) => String(v.name))],
    mounts,
    annotations: [...addedAnnotations.map(([k]) => k), HASH_ANNOTATION, STATUS_ANNOTATION],
    created,
    objects: objects.map((o) => ({ kind: String(o.kind), name: String((o.metadata as Json).name) })),
    ...(opts.wrapsJson ? { wrapped: true } : {}),
  };
  ops.push({
    op: 'setPairs',
    path: [...metaPath, 'annotations'],
    pairs: [...addedAnnotations, [HASH_ANNOTATION, hash], [STATUS_ANNOTATION, formatStatus(status)]],
  });
  return { action: 'inject', ops, objects, status, notes: [...earlyNotes, ...parts.notes, ...policyNotes], context: ctx };
}

/**
 * With --network-policy: the workload's own NetworkPolicy (added to `objects`), or, when policies of
 * the input select the pod already, a line saying those are amended instead.
 */
function networkPolicyNotes(ctx: WorkloadContext, objects: Json[], labels: unknown, existing: string[]): string[] {
  if (!networkPolicyOn(ctx.settings) || proxiedPorts(ctx.ports).length === 0) return [];
  if (existing.length > 0) {
    return [`${existing.join(', ')} already select these pods: amended for the proxy's ports instead of adding a policy (a new one would widen them); the app's own ports stay as open as they make them`];
  }
  const policy = generatedPolicy(ctx, isPlainObject(labels) ? labels : {});
  if (!policy) return ['warning: the pod template has no labels: no NetworkPolicy can select it, so its app ports stay reachable on the pod IP'];
  objects.push(policy);
  const open = openPorts(ctx).map((p) => (p.protocol === 'TCP' ? `:${p.port}` : `:${p.port}/${p.protocol.toLowerCase()}`)).join(', ');
  return [`NetworkPolicy/${policyName(ctx)}: other pods reach only ${open}; the app's own ports are closed to them (the kubelet's probes still reach them)`];
}

/**
 * A collection we add to that is written as a bare `key:` (null). Splicing into it would need to
 * rewrite the key, which uninject could not undo byte for byte; such inputs are rare, so we say so.
 */
function nullCollection(spec: Json, podMeta: unknown): string | undefined {
  for (const key of ['initContainers', 'containers', 'volumes']) if (spec[key] === null) return `spec.${key}`;
  if (podMeta === null) return 'template.metadata';
  if (isPlainObject(podMeta) && podMeta.annotations === null) return 'template.metadata.annotations';
  return undefined;
}

/** A plain container has no startup ordering, so a startupProbe would only delay its readiness. */
function withoutStartupProbe(container: Json): Json {
  const { startupProbe: _unused, ...rest } = container;
  return rest;
}

/**
 * The app containers that get the sidecars' app mounts (the shared log directory): every container
 * that does not already mount something there. The main container must take it, or the shipper
 * would tail an empty directory.
 */
function appMountTargets(spec: Json, mainName: string, appMounts: Json[]): { index: number; container: Json }[] | string {
  if (appMounts.length === 0) return [];
  const paths = new Set(appMounts.map((m) => m.mountPath));
  const targets: { index: number; container: Json }[] = [];
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  for (const [index, container] of containers.entries()) {
    if (!isPlainObject(container)) continue;
    const existing = Array.isArray(container.volumeMounts) ? container.volumeMounts.filter(isPlainObject) : [];
    const taken = existing.find((m) => paths.has(m.mountPath));
    if (taken && container.name === mainName) {
      return `container ${mainName} already mounts ${String(taken.name)} at ${String(taken.mountPath)}: point --log-path at another directory, or drop that mount`;
    }
    if (!taken) targets.push({ index, container });
  }
  return targets;
}

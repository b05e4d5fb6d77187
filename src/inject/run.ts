/**
 * inject and uninject over a set of files. Every file is first brought back to its un-injected text
 * (so injecting twice equals injecting once), then Services and workloads are planned across all
 * files together (a Service may live in another file than its Deployment), then each file's changes
 * are spliced into its text.
 */
import type { Node } from 'yaml';
import { UserError } from '../errors.js';
import { getPath, type EditOp, type Path } from '../manifest/edit-ops.js';
import { noChanges, renderChanges, type FileChanges } from '../manifest/render.js';
import { lineOf, parseSource, type SourceFile } from '../manifest/source.js';
import { describe, isPlainObject, isWorkloadKind, objectsOf, podMetadataPath, POD_SPEC_PATHS, type ObjectRef } from '../manifest/workloads.js';
import { resolveSettings, type SettingsLayer } from '../settings/resolve.js';
import type { Settings } from '../settings/types.js';
import { SKIP, type Skip, type SkipCode } from './skips.js';
import { aliasText, sharedEdit } from '../manifest/anchors.js';
import { annotationLayers, workloadLayers } from '../model/settings.js';
import type { WorkloadContext } from '../sidecars/types.js';
import { checkPodSpecShape, planInjection } from './plan.js';
import { planServices, servicesSelecting, uninjectServiceOps, type Located } from './services.js';
import { serviceDnsNames } from '../sidecars/mtls/index.js';
import { proxiedPorts, servicePortsOf, type PortPlan } from '../model/ports.js';
import { planPolicies, policySelects, uninjectPolicyOps } from '../network/policies.js';
import { networkPolicyOn } from '../network/generated.js';
import { ingressBackends, publicAppPorts, type IngressBackend } from '../network/public.js';
import { ipv6AppPorts } from '../network/addresses.js';
import { recordedLayer, settingsToRecord, upperLayer, withRecordedSettings } from './recorded.js';
import { MANAGED_BY, MANAGED_BY_LABEL, STATUS_ANNOTATION, readStatus, uninjectWorkloadOps, withTargetPortSources, type WorkloadStatus } from './status.js';

const SHARED_REASON = 'what inject edits here is shared with another part of the file through this YAML alias or << merge key (an edit would change both): write it out in full to inject';

export interface WorkloadReport {
  file: string;
  line: number;
  object: string;
  action: 'injected' | 'skipped' | 'uninjected';
  /** Why it was skipped: a stable code (src/inject/skips.ts), and `reason` for people. */
  skip?: SkipCode;
  reason?: string;
  notes: string[];
  /** With a proxy: every app port, what it speaks (and where that was learnt), its listener or why none. */
  ports?: PortPlan[];
}

export interface FileOutput {
  source: SourceFile;
  text: string;
  changed: boolean;
}

export interface RunResult {
  files: FileOutput[];
  reports: WorkloadReport[];
}

export interface RunOptions {
  mode: 'inject' | 'uninject';
  /** Settings layers below annotations (profile), and above them (flags). */
  profile: SettingsLayer;
  flags: SettingsLayer;
  /** A reason, decided by the caller, to leave a workload alone (e.g. not in the profile's `workloads:` list). */
  skip?: (ref: ObjectRef) => Skip | undefined;
  /** Told of each step done, for a progress bar: every file is a step in each pass over the files. */
  progress?: (done: number, total: number) => void;
  /** Edits the objects inject adds for a workload before they are written (KRM path annotations). */
  decorate?: (objects: Record<string, unknown>[], workload: ObjectRef) => Record<string, unknown>[];
}

function objectsIn(source: SourceFile): ObjectRef[] {
  return source.docs.flatMap((doc, i) => {
    try {
      return objectsOf(doc, i);
    } catch (error) {
      throw new UserError((error as Error).message, source.path, lineOf(source, doc.range[0]));
    }
  });
}

/** Line of the node at `path` inside an object (or of the object itself). */
function lineAt(source: SourceFile, ref: ObjectRef, path: Path = []): number {
  const doc = source.docs[ref.docIndex]!;
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn([...ref.base, ...path.slice(0, n)], true) as Node | undefined;
    if (node?.range) return lineOf(source, node.range[0]);
  }
  return lineOf(source, (ref.node.range ?? [0])[0]);
}

function isGenerated(ref: ObjectRef): boolean {
  const labels = getPath(ref.value, ['metadata', 'labels']);
  return isPlainObject(labels) && labels[MANAGED_BY_LABEL] === MANAGED_BY;
}

/** Take every injection in a file back out; returns the changes and what was undone. */
function uninjectChanges(source: SourceFile): { changes: FileChanges; reports: WorkloadReport[]; recorded: Map<string, SettingsLayer> } {
  const recorded = new Map<string, SettingsLayer>();
  const changes = noChanges();
  const reports: WorkloadReport[] = [];
  const objects = objectsIn(source);
  // The generated objects (ConfigMaps, Certificates) by namespace/kind/name, to find a workload's own.
  const key = (namespace: string | undefined, kind: string, name: string) => `${namespace ?? ''}/${kind}/${name}`;
  const generated = new Map<string, ObjectRef[]>();
  const position = new Map(objects.map((o, i) => [o, i]));
  for (const o of objects) {
    if (!isGenerated(o) || o.docIndex === undefined) continue;
    const k = key(o.namespace, o.kind, o.name);
    const list = generated.get(k);
    if (list) list.push(o);
    else generated.set(k, [o]);
  }
  for (const ref of objects) {
    if (ref.kind === 'Service' || ref.kind === 'NetworkPolicy') {
      const ops = ref.kind === 'Service' ? uninjectServiceOps(ref) : uninjectPolicyOps(ref);
      if (ops.length > 0) changes.ops.push({ ref, ops });
      continue;
    }
    if (!isWorkloadKind(ref.kind)) continue;
    const metaPath = podMetadataPath(ref.kind);
    const status = readStatus<WorkloadStatus>(getPath(ref.value, metaPath));
    if (!status) continue;
    const layer = recordedLayer(status, { file: source.path, line: lineAt(source, ref, [...metaPath, 'annotations', STATUS_ANNOTATION]) });
    if (layer.length > 0) recorded.set(describe(ref), layer);
    changes.ops.push({ ref, ops: uninjectWorkloadOps(ref.value, POD_SPEC_PATHS[ref.kind]!, metaPath, status) });
    const ours = status.objects.flatMap((o) => generated.get(key(ref.namespace, o.kind, o.name)) ?? []);
    // In input order: the splicer removes documents front to back.
    changes.remove.push(...ours.sort((a, b) => position.get(a)! - position.get(b)!));
    if (status.wrapped) changes.unwrap = true;
    reports.push({ file: source.path, line: lineAt(source, ref), object: describe(ref), action: 'uninjected', notes: [] });
  }
  return { changes, reports, recorded };
}

export function runInjection(sources: SourceFile[], options: RunOptions): RunResult {
  // 1. Back to the un-injected text of every file.
  const clean: SourceFile[] = [];
  const recordedByFile = new Map<SourceFile, Map<string, SettingsLayer>>();
  const reports: WorkloadReport[] = [];
  const passes = options.mode === 'inject' ? 3 : 1;
  let steps = 0;
  const stepDone = () => options.progress?.(++steps, sources.length * passes);
  for (const source of sources) {
    const { changes, reports: undone, recorded } = uninjectChanges(source);
    const text = renderChanges(source, changes);
    const cleaned = text === source.text ? source : parseSource(source.path, text);
    clean.push(cleaned);
    recordedByFile.set(cleaned, recorded);
    if (options.mode === 'uninject') reports.push(...undone);
    stepDone();
  }
  if (options.mode === 'uninject') {
    return { files: clean.map((c, i) => ({ source: sources[i]!, text: c.text, changed: c.text !== sources[i]!.text })), reports };
  }

  // 2. Plan every workload, then the Services across all files.
  const changesByFile = new Map<SourceFile, FileChanges>(clean.map((s) => [s, noChanges()]));
  const workloads: Located[] = [];
  const services: Located[] = [];
  const injected = new Map<ObjectRef, WorkloadContext>();
  const reportOf = new Map<ObjectRef, WorkloadReport>();
  const objectsByFile = new Map(clean.map((source) => [source, objectsIn(source)]));
  const policies: Located[] = [];
  const backends: IngressBackend[] = [];
  for (const [source, refs] of objectsByFile) {
    for (const ref of refs) {
      if (ref.kind === 'Service') services.push({ source, ref });
      else if (ref.kind === 'NetworkPolicy') policies.push({ source, ref });
      else if (ref.kind === 'Ingress') backends.push(...ingressBackends(ref));
    }
  }
  const servicesOf = servicesSelecting(services);
  for (const source of clean) {
    const changes = changesByFile.get(source)!;
    for (const ref of objectsByFile.get(source)!) {
      if (!isWorkloadKind(ref.kind)) continue;
      workloads.push({ source, ref });
      checkPodSpecShape(ref, source.path, (path) => lineAt(source, ref, path));
      const callerSkip = options.skip?.(ref);
      if (callerSkip) {
        reports.push({ file: source.path, line: lineAt(source, ref), object: describe(ref), action: 'skipped', skip: callerSkip.code, reason: callerSkip.reason, notes: [] });
        continue;
      }
      // The settings the workload was injected with last time (its status, now undone), under the flags given now.
      const recorded = recordedByFile.get(source)?.get(describe(ref)) ?? [];
      const { lower, upper } = settingsLayersOf(source, ref, options, recorded);
      const settings = resolveSettings([...lower, upper]);
      const wrapsJson = source.format === 'json' && ref.base.length === 0;
      // The names clients may verify this workload's certificate by: its Services in the input.
      const selecting = servicesOf(ref);
      const dnsNames = selecting.flatMap((svc) => serviceDnsNames(svc.ref.name, svc.ref.namespace));
      // Their ports tell what the app's ports speak (appProtocol, port names).
      const servicePorts = selecting.flatMap((svc) => servicePortsOf(svc.ref.value, svc.ref.name));
      // The input's own policies that govern its pods: amended, never widened by one of ours.
      const governing = policies.filter((p) => policySelects(p.ref, ref)).map((p) => describe(p.ref));
      const podSpec = (getPath(ref.value, POD_SPEC_PATHS[ref.kind]!) ?? {}) as Record<string, unknown>;
      const publicPorts = publicAppPorts(podSpec, selecting.map((s) => s.ref), backends);
      const ipv6Ports = ipv6AppPorts(podSpec, selecting.map((s) => s.ref));
      const decision = planInjection(ref, settings, { wrapsJson, serviceDnsNames: dnsNames, servicePorts, policies: governing, publicPorts, ipv6Ports });
      const report: WorkloadReport = { file: source.path, line: lineAt(source, ref), object: describe(ref), action: decision.action === 'inject' ? 'injected' : 'skipped', notes: [] };
      reports.push(report);
      reportOf.set(ref, report);
      if (decision.action === 'skip') {
        report.skip = decision.code;
        report.reason = decision.reason;
        continue;
      }
      const shared = sharedEdit(source.docs[ref.docIndex]!, ref.base, decision.ops);
      if (shared !== undefined) {
        Object.assign(report, { action: 'skipped', line: lineOf(source, shared), skip: SKIP.sharedAnchor, reason: SHARED_REASON });
        continue;
      }
      report.notes.push(...decision.notes);
      if (decision.context.settings.proxy !== 'none') report.ports = decision.context.ports;
      injected.set(ref, decision.context);
      const kept = new Set(recorded.map((r) => r.key).filter((key) => !options.flags.some((f) => f.key === key)));
      changes.ops.push({ ref, ops: withRecordedSettings(decision.ops, settingsToRecord(lower, upper, kept)) });
      changes.addBefore.push({ ref, objects: options.decorate ? options.decorate(decision.objects, ref) : decision.objects });
    }
    stepDone();
  }
  const { plans, workloadNotes, routed } = planServices(services, workloads, servicesOf, injected);
  for (const { service, ops } of plans) {
    const doc = service.source.docs[service.ref.docIndex]!;
    const shared = sharedEdit(doc, service.ref.base, ops);
    if (shared !== undefined) {
      const object = describe(service.ref);
      reports.push({ file: service.source.path, line: lineOf(service.source, shared), object, action: 'skipped', skip: SKIP.sharedAnchor, reason: SHARED_REASON, notes: [] });
      continue;
    }
    const withAliases = withTargetPortSources(ops, (path) => aliasText(service.source.text, doc, [...service.ref.base, ...path]));
    changesByFile.get(service.source)!.ops.push({ ref: service.ref, ops: withAliases });
  }
  for (const [ref, notes] of workloadNotes) reportOf.get(ref)?.notes.push(...notes);
  const amended = planPolicies(policies, injected);
  const policySource = new Map(policies.map((p) => [p.ref, p.source]));
  for (const plan of amended.plans) {
    const source = policySource.get(plan.policy)!;
    // A `ports` list shared through an anchor would get the entry once per rule that aliases it.
    const shared = sharedEdit(source.docs[plan.policy.docIndex]!, plan.policy.base, plan.ops);
    if (shared !== undefined) {
      reports.push({ file: source.path, line: lineOf(source, shared), object: describe(plan.policy), action: 'skipped', skip: SKIP.sharedAnchor, reason: `${SHARED_REASON}; allow the proxy's ports in it by hand`, notes: [] });
      continue;
    }
    changesByFile.get(source)!.ops.push({ ref: plan.policy, ops: plan.ops });
    for (const [ref, note] of plan.notes) reportOf.get(ref)?.notes.push(note);
  }
  for (const [ref, notes] of amended.workloadNotes) reportOf.get(ref)?.notes.push(...notes);
  for (const ref of routed) {
    const ctx = injected.get(ref);
    // A Service also routes workloads that were not injected (skipped ones behind it): nothing to say for those.
    if (!ctx) continue;
    // Said where policies are in use: the input has some, or inject adds them.
    if (policies.length === 0 && !networkPolicyOn(ctx.settings)) continue;
    const moved = proxiedPorts(ctx.ports).map((p) => `${p.port} -> ${p.listener}`).join(', ');
    reportOf.get(ref)?.notes.push(`clients' egress NetworkPolicies not in the input that allow these pods' ports must allow the proxy's too (${moved})`);
  }

  // 3. Splice.
  const files = clean.map((source, i) => {
    const text = renderChanges(source, changesByFile.get(source)!);
    stepDone();
    return { source: sources[i]!, text, changed: text !== sources[i]!.text };
  });
  return { files, reports };
}

/** One workload's settings: profile < workload annotations < pod template annotations < recorded in its status < flags. */
export function workloadSettings(source: SourceFile, ref: ObjectRef, layers: Pick<RunOptions, 'profile' | 'flags'>): Settings {
  const metaPath = podMetadataPath(ref.kind);
  const status = readStatus<WorkloadStatus>(getPath(ref.value, metaPath));
  const recorded = recordedLayer(status, { file: source.path, line: lineAt(source, ref, [...metaPath, 'annotations', STATUS_ANNOTATION]) });
  const { lower, upper } = settingsLayersOf(source, ref, layers, recorded);
  return resolveSettings([...lower, upper]);
}

/** The layers below the flags (profile, annotations), and above: the recorded settings with the flags given now over them. */
function settingsLayersOf(source: SourceFile, ref: ObjectRef, layers: Pick<RunOptions, 'profile' | 'flags'>, recorded: SettingsLayer): { lower: SettingsLayer[]; upper: SettingsLayer } {
  const annotations = annotationLayers(ref.value, ref.kind, (path) => ({ file: source.path, line: lineAt(source, ref, path) }));
  return { lower: workloadLayers(layers.profile, annotations, []).slice(0, -1), upper: upperLayer(recorded, layers.flags) };
}

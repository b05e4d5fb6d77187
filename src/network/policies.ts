/**
 * NetworkPolicies in the input, after the Services send traffic to the proxy: a policy that lets
 * app port X into an injected pod must now also let in the proxy's listener for X, or every
 * request is dropped (Grafana's policy allows 3000 only; after inject the Service sends to 15006).
 * The same holds for egress policies of the clients: Kubernetes checks egress against the pod's
 * port after the Service's translation, so a rule allowing X to these pods must allow the listener.
 *
 * The listener port goes into the same rule, beside X, so it has exactly the same peers. Edits are
 * items appended to the rule's `ports`, recorded in the policy's status annotation so that
 * uninject removes exactly those.
 */
import type { EditOp } from '../manifest/edit-ops.js';
import { getPath } from '../manifest/edit-ops.js';
import { describe, isPlainObject, podMetadataPath, type ObjectRef } from '../manifest/workloads.js';
import { proxiedPorts, type PortPlan } from '../model/ports.js';
import { readStatus, STATUS_ANNOTATION } from '../inject/status.js';
import type { WorkloadContext } from '../sidecars/types.js';
import { namespaceMayMatch, selectorMatches } from './selectors.js';

type Json = Record<string, unknown>;
export type Direction = 'ingress' | 'egress';

export interface PolicyLocated {
  ref: ObjectRef;
}

/** What inject added to a policy: items appended to rules' `ports`. */
export interface PolicyStatus {
  v: 1;
  /** Where the entries went, and (since they may move when the rule is edited by hand) their ports. */
  ports: { section: Direction; rule: number; indexes: number[]; values?: number[] }[];
  createdAnnotations: boolean;
}

export function podLabelsOf(ref: ObjectRef): Json {
  const labels = getPath(ref.value, [...podMetadataPath(ref.kind), 'labels']);
  return isPlainObject(labels) ? labels : {};
}

/** The directions a policy governs: policyTypes, or (absent) Ingress, plus Egress when it has egress rules. */
export function policyTypes(policy: Json): Direction[] {
  const spec = isPlainObject(policy.spec) ? policy.spec : {};
  if (Array.isArray(spec.policyTypes)) return spec.policyTypes.flatMap((t): Direction[] => (t === 'Ingress' ? ['ingress'] : t === 'Egress' ? ['egress'] : []));
  return spec.egress !== undefined ? ['ingress', 'egress'] : ['ingress'];
}

/** Whether a policy applies to (selects) a workload's pods, for ingress. */
export function policySelects(policy: ObjectRef, workload: ObjectRef): boolean {
  if ((policy.namespace ?? '') !== (workload.namespace ?? '')) return false;
  return policyTypes(policy.value).includes('ingress') && selectorMatches(getPath(policy.value, ['spec', 'podSelector']), podLabelsOf(workload));
}

function rulesOf(policy: Json, section: Direction): Json[] {
  const list = getPath(policy, ['spec', section]);
  return Array.isArray(list) ? (list as Json[]) : [];
}

function entriesOf(rule: unknown): Json[] | undefined {
  return isPlainObject(rule) && Array.isArray(rule.ports) && rule.ports.length > 0 ? (rule.ports as Json[]) : undefined;
}

/** Whether a `ports` entry lets in TCP port `port` (named `name` on the pod). */
export function entryAllows(entry: unknown, port: number, name?: string): boolean {
  if (!isPlainObject(entry)) return false;
  if ((entry.protocol ?? 'TCP') !== 'TCP') return false;
  const p = typeof entry.port === 'string' && /^\d+$/.test(entry.port) ? Number(entry.port) : entry.port;
  if (p === undefined || p === null) return true; // every port of the protocol
  if (typeof p === 'number') return typeof entry.endPort === 'number' ? port >= p && port <= entry.endPort : port === p;
  return name !== undefined && p === name;
}

/** Whether an egress rule's `to` may reach a workload's pods (from a policy of namespace `from`). */
function peersReach(rule: Json, from: string, workload: ObjectRef): boolean {
  const to = rule.to;
  if (to === undefined || to === null || (Array.isArray(to) && to.length === 0)) return true;
  if (!Array.isArray(to)) return false;
  const labels = podLabelsOf(workload);
  const ns = workload.namespace ?? '';
  return to.some((peer) => {
    if (!isPlainObject(peer) || peer.ipBlock !== undefined) return false; // pod IPs are not known here
    const podOk = peer.podSelector === undefined || selectorMatches(peer.podSelector, labels);
    const nsOk = peer.namespaceSelector === undefined ? from === ns : namespaceMayMatch(peer.namespaceSelector, ns);
    return podOk && nsOk;
  });
}

/** The proxied ports of a workload with the name its container gives them. */
function listenersOf(ctx: ProxiedPorts): (PortPlan & { listener: number })[] {
  return proxiedPorts(ctx.ports);
}

/** What policies need of a workload: its proxy and its per-port plan. */
export type ProxiedPorts = Pick<WorkloadContext, 'settings' | 'ports'>;

export interface PolicyPlan {
  policy: ObjectRef;
  ops: EditOp[];
  /** Report lines for the workloads whose ports it now lets in (said only when the plan is applied). */
  notes: [ObjectRef, string][];
}

interface Addition {
  section: Direction;
  rule: number;
  ports: Set<number>;
  /** The first entry that matched: the new entries are written in its shape. */
  like: Json;
}

/**
 * Amend every policy of the input for the injected workloads. Returns the ops per policy and a
 * report line per workload per amended rule.
 */
export function planPolicies(
  policies: PolicyLocated[],
  injected: ReadonlyMap<ObjectRef, ProxiedPorts>,
): { plans: PolicyPlan[]; workloadNotes: Map<ObjectRef, string[]> } {
  const plans: PolicyPlan[] = [];
  const workloadNotes = new Map<ObjectRef, string[]>();
  const note = (ref: ObjectRef, text: string) => workloadNotes.set(ref, [...(workloadNotes.get(ref) ?? []), text]);
  const proxied = withListeners(injected);
  for (const { ref: policy } of policies) {
    const gaps = policyGaps(policy, proxied);
    if (gaps.length === 0) continue;
    const metadata = policy.value.metadata;
    if (isPlainObject(metadata) && metadata.annotations === null) {
      for (const [workload] of proxied) if (policySelects(policy, workload)) note(workload, `warning: NetworkPolicy ${policy.name} has an empty (null) metadata.annotations: left alone; allow the proxy's ports in it by hand`);
      continue;
    }
    const notes: [ObjectRef, string][] = [];
    for (const gap of gaps) {
      const whose = gap.section === 'egress' ? " (its clients' egress)" : '';
      for (const [workload, moved] of gap.byWorkload) notes.push([workload, `${describe(policy)} ${gap.section}[${gap.rule}]${whose}: allows ${moved.join(', ')} (same peers)`]);
    }
    plans.push({ policy, ops: amendOps(policy, gaps), notes });
  }
  return { plans, workloadNotes };
}

/** The workloads whose traffic goes through a proxy listener (those the policies must let in). */
export function withListeners(workloads: Iterable<readonly [ObjectRef, ProxiedPorts]>): (readonly [ObjectRef, ProxiedPorts])[] {
  return [...workloads].filter(([, ctx]) => ctx.settings.proxy !== 'none' && listenersOf(ctx).length > 0);
}

/** A rule of a policy that lets in app ports of proxied workloads but not their listeners. */
export interface PolicyGap extends Addition {
  /** Per workload: "LISTENER beside APP-PORT" for each listener missing. */
  byWorkload: Map<ObjectRef, string[]>;
}

/** The rules of `policy` that would drop traffic the Services now send to the proxies' listeners. */
export function policyGaps(policy: ObjectRef, proxied: readonly (readonly [ObjectRef, ProxiedPorts])[]): PolicyGap[] {
  const gaps: PolicyGap[] = [];
  const types = policyTypes(policy.value);
  for (const section of ['ingress', 'egress'] as const) {
    if (!types.includes(section)) continue;
    rulesOf(policy.value, section).forEach((rule, index) => {
      const entries = entriesOf(rule);
      if (!entries) return; // no ports: every port is allowed, the listeners too
      const gap: PolicyGap = { section, rule: index, ports: new Set(), like: {}, byWorkload: new Map() };
      for (const [workload, ctx] of proxied) {
        const applies = section === 'ingress' ? policySelects(policy, workload) : peersReach(rule, policy.namespace ?? '', workload);
        if (!applies) continue;
        const moved: string[] = [];
        for (const p of listenersOf(ctx)) {
          const match = entries.find((e) => entryAllows(e, p.port, p.name));
          if (!match || entries.some((e) => entryAllows(e, p.listener))) continue;
          if (gap.ports.size === 0) gap.like = match;
          gap.ports.add(p.listener);
          moved.push(`${p.listener} beside ${p.name !== undefined && match.port === p.name ? `${p.name} (${p.port})` : p.port}`);
        }
        if (moved.length > 0) gap.byWorkload.set(workload, moved);
      }
      if (gap.ports.size > 0) gaps.push(gap);
    });
  }
  return gaps;
}

function amendOps(policy: ObjectRef, additions: Addition[]): EditOp[] {
  const ops: EditOp[] = [];
  const status: PolicyStatus = { v: 1, ports: [], createdAnnotations: false };
  for (const a of additions) {
    const existing = entriesOf(rulesOf(policy.value, a.section)[a.rule])!.length;
    const ports = [...a.ports].sort((x, y) => x - y);
    ops.push({ op: 'insertItems', path: ['spec', a.section, a.rule, 'ports'], at: 'end', values: ports.map((port) => entryLike(a.like, port)) });
    status.ports.push({ section: a.section, rule: a.rule, indexes: ports.map((_, i) => existing + i), values: ports });
  }
  const metadata = policy.value.metadata;
  status.createdAnnotations = !isPlainObject(metadata) || metadata.annotations === undefined;
  ops.push({ op: 'setPairs', path: ['metadata', 'annotations'], pairs: [[STATUS_ANNOTATION, JSON.stringify(status)]] });
  return ops;
}

/** A new entry in the order the matched one writes its keys (`protocol` first or not at all). */
function entryLike(like: Json, port: number): Json {
  const keys = Object.keys(like).filter((k) => k === 'port' || k === 'protocol');
  if (!keys.includes('protocol')) return { port };
  return keys[0] === 'protocol' ? { protocol: 'TCP', port } : { port, protocol: 'TCP' };
}

/**
 * The indexes of the entries inject added to a rule: found by their ports where the record has
 * them (entries added or removed by hand above them shift the indexes), else by the recorded
 * indexes that still exist (records written before ports were).
 */
function addedEntries(entries: unknown[], added: PolicyStatus['ports'][number]): number[] {
  if (Array.isArray(added.values)) {
    const wanted = new Set(added.values);
    const found: number[] = [];
    // The last entry of each port: inject appends, so its own come after any the user wrote.
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i];
      const port = isPlainObject(entry) ? entry.port : undefined;
      if (typeof port === 'number' && wanted.has(port)) {
        wanted.delete(port);
        found.push(i);
      }
    }
    return found.sort((x, y) => x - y);
  }
  return Array.isArray(added.indexes) ? added.indexes.filter((i) => Number.isInteger(i) && i < entries.length) : [];
}

/** The ops that take inject's entries back out of a policy. */
export function uninjectPolicyOps(ref: ObjectRef): EditOp[] {
  const status = readStatus<PolicyStatus>(ref.value.metadata);
  if (!status || !Array.isArray(status.ports)) return [];
  // Entries taken out by hand since (the record then names items that are gone) are not removed twice.
  const ops: EditOp[] = status.ports.flatMap((p): EditOp[] => {
    const path = ['spec', p.section, p.rule, 'ports'];
    const entries = getPath(ref.value, path);
    const indexes = Array.isArray(entries) ? addedEntries(entries, p) : [];
    return indexes.length > 0 ? [{ op: 'removeItems', path, indexes }] : [];
  });
  const annotations = getPath(ref.value, ['metadata', 'annotations']);
  const othersNow = isPlainObject(annotations) && Object.keys(annotations).some((k) => k !== STATUS_ANNOTATION);
  if (status.createdAnnotations && !othersNow) ops.push({ op: 'removeKeys', path: ['metadata'], keys: ['annotations'] });
  else ops.push({ op: 'removeKeys', path: ['metadata', 'annotations'], keys: [STATUS_ANNOTATION] });
  return ops;
}

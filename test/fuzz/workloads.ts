/**
 * fast-check arbitraries for manifest streams as people write them: every workload kind, Services,
 * and the same objects written many ways (key order, quoting, plain/single/double/block scalars, flow
 * or block collections, comments, anchors and aliases). The objects are built as plain JS, then
 * dressed by the yaml library's Document API with choices drawn from a seeded generator, so every
 * text is valid YAML for a valid object, and a failing case shrinks to a small one.
 */
import fc from 'fast-check';
import { Document, isCollection, isMap, Scalar, visit } from 'yaml';
import { POD_SPEC_PATHS } from '../../src/manifest/workloads.js';

const KINDS = Object.keys(POD_SPEC_PATHS);
const API_VERSIONS: Record<string, string> = {
  Pod: 'v1',
  ReplicationController: 'v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
  DeploymentConfig: 'apps.openshift.io/v1',
};

const dnsLabel = fc.stringMatching(/^[a-z]([a-z0-9-]{0,8}[a-z0-9])?$/);
/** Text with the characters that make quoting matter: colons, hashes, quotes, leading dashes, unicode. */
const awkwardText = fc.oneof(
  fc.stringMatching(/^[a-zA-Z0-9 ]{1,12}$/),
  fc.constantFrom('a: b', 'x #not a comment', "it's", 'say "hi"', '- dash', 'true', '0755', '1e3', 'null', 'é ü 中', '  padded  ', '*star', '&amp', '{braces}', '[x]', '@at', '%p', 'a\nb', 'tab\there'),
);

interface ContainerModel {
  name: string;
  image: string;
  ports: number[];
  env: [string, string][];
  args: string[];
}

const containerArb: fc.Arbitrary<ContainerModel> = fc.record({
  name: dnsLabel,
  image: fc.constantFrom('nginx:1.27', 'ghcr.io/example/app:1.0.0', 'registry.k8s.io/pause:3.9', 'quay.io/a/b@sha256:' + 'a'.repeat(64)),
  ports: fc.uniqueArray(fc.integer({ min: 1024, max: 9999 }).filter((p) => p !== 15000 && p !== 15006 && p !== 15090), { maxLength: 2 }),
  env: fc.uniqueArray(fc.tuple(fc.stringMatching(/^[A-Z][A-Z0-9_]{0,8}$/), awkwardText), { maxLength: 3, selector: ([k]) => k }),
  args: fc.array(awkwardText, { maxLength: 2 }),
});

export interface WorkloadModel {
  kind: string;
  name: string;
  namespace: string | null;
  containers: ContainerModel[];
  initContainer: boolean;
  volumes: boolean;
  annotations: [string, string][];
  service: 'none' | 'named' | 'number';
}

const workloadArb: fc.Arbitrary<WorkloadModel> = fc.record({
  kind: fc.constantFrom(...KINDS),
  name: dnsLabel,
  namespace: fc.option(dnsLabel, { nil: null }),
  containers: fc.uniqueArray(containerArb, { minLength: 1, maxLength: 3, selector: (c) => c.name }).filter(uniquePorts),
  initContainer: fc.boolean(),
  volumes: fc.boolean(),
  annotations: fc.uniqueArray(fc.tuple(fc.constantFrom('team', 'example.com/owner', 'note'), awkwardText), { maxLength: 2, selector: ([k]) => k }),
  service: fc.constantFrom('none', 'named', 'number'),
});

function uniquePorts(containers: ContainerModel[]): boolean {
  const ports = containers.flatMap((c) => c.ports);
  return new Set(ports).size === ports.length;
}

export interface StreamModel {
  workloads: WorkloadModel[];
  /** Seeds the layout choices (styles, order, comments). */
  seed: number;
  leadingComment: boolean;
}

export const streamArb: fc.Arbitrary<StreamModel> = fc.record({
  workloads: fc.uniqueArray(workloadArb, { minLength: 1, maxLength: 3, selector: (w) => `${w.namespace}/${w.name}` }),
  seed: fc.integer(),
  leadingComment: fc.boolean(),
});

function podSpec(w: WorkloadModel, resources: object): Record<string, unknown> {
  const spec: Record<string, unknown> = {
    containers: w.containers.map((c) => ({
      name: c.name,
      image: c.image,
      ...(c.args.length > 0 ? { args: c.args } : {}),
      ...(c.ports.length > 0 ? { ports: c.ports.map((p, i) => ({ name: i === 0 ? 'http' : `p${i}`, containerPort: p })) } : {}),
      ...(c.env.length > 0 ? { env: c.env.map(([name, value]) => ({ name, value })) } : {}),
      // The same object in every container: the yaml library writes it once with an anchor, then aliases.
      resources,
    })),
  };
  if (w.kind === 'Job' || w.kind === 'CronJob') spec.restartPolicy = 'OnFailure';
  if (w.initContainer) spec.initContainers = [{ name: 'init-setup', image: 'busybox:1.36', command: ['sh', '-c', 'echo ready'] }];
  if (w.volumes) spec.volumes = [{ name: 'cache', emptyDir: {} }];
  return spec;
}

/** The workload as a plain object; labels are one shared object (anchor and aliases in the text). */
export function workloadObject(w: WorkloadModel): Record<string, unknown> {
  const labels = { app: w.name };
  const resources = { requests: { cpu: '100m', memory: '64Mi' } };
  const metadata = { name: w.name, ...(w.namespace ? { namespace: w.namespace } : {}), labels, ...(w.annotations.length > 0 ? { annotations: Object.fromEntries(w.annotations) } : {}) };
  const template = { metadata: { labels }, spec: podSpec(w, resources) };
  const base = { apiVersion: API_VERSIONS[w.kind] ?? 'apps/v1', kind: w.kind, metadata };
  switch (w.kind) {
    case 'Pod':
      return { ...base, spec: podSpec(w, resources) };
    case 'CronJob':
      return { ...base, spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template } } } };
    case 'Job':
      return { ...base, spec: { template } };
    case 'ReplicationController':
    case 'DeploymentConfig':
      return { ...base, spec: { replicas: 1, selector: labels, template } };
    default:
      return { ...base, spec: { ...(w.kind === 'StatefulSet' ? { serviceName: w.name } : {}), selector: { matchLabels: labels }, template } };
  }
}

export function serviceObject(w: WorkloadModel): Record<string, unknown> | undefined {
  const port = w.containers[0]!.ports[0];
  if (w.service === 'none' || port === undefined) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: w.name, ...(w.namespace ? { namespace: w.namespace } : {}) },
    spec: { selector: { app: w.name }, ports: [{ name: 'http', port: 80, targetPort: w.service === 'named' ? 'http' : port }] },
  };
}

/** mulberry32: layout choices from the model's seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const QUOTE_STYLES = [Scalar.PLAIN, Scalar.QUOTE_SINGLE, Scalar.QUOTE_DOUBLE] as const;
const SCALAR_STYLES = [...QUOTE_STYLES, Scalar.BLOCK_LITERAL, Scalar.BLOCK_FOLDED] as const;
const COMMENTS = [' a comment', ' TODO: tune this', ' key: value # inside', ' ---', ' - not an item', ' é'];

/** A copy with keys in random order; shared objects stay shared (they become anchors and aliases). */
function shuffled(value: unknown, rand: () => number, seen: Map<object, unknown>): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return seen.get(value);
  const copy: unknown = Array.isArray(value)
    ? value.map((v) => shuffled(v, rand, seen))
    : Object.fromEntries(
        Object.entries(value)
          .map(([k, v]) => [k, shuffled(v, rand, seen), rand()] as const)
          .sort((a, b) => (rand() < 0.4 ? a[2] - b[2] : 0))
          .map(([k, v]) => [k, v]),
      );
  seen.set(value, copy);
  return copy;
}

/** One object as a YAML document written in a random (seeded) way. */
function dress(object: unknown, rand: () => number): string {
  // Key order is shuffled in the objects, so that an anchor still comes before its aliases.
  const doc = new Document(shuffled(object, rand, new Map()));
  const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)]!;
  // Inside flow collections and on keys, only the quoting varies: the yaml library's printer writes
  // comments and block scalars there as text that does not parse back (these are not inputs we claim).
  const inFlow = (path: readonly unknown[]) => path.some((p) => isCollection(p) && p.flow === true);
  visit(doc, {
    Map(_, map, path) {
      if (inFlow(path)) return;
      if (rand() < 0.12) map.flow = true;
      else if (rand() < 0.1) map.commentBefore = pick(COMMENTS);
    },
    Seq(_, seq, path) {
      if (inFlow(path)) return;
      if (rand() < 0.12) seq.flow = true;
      else if (rand() < 0.1) seq.commentBefore = pick(COMMENTS);
    },
    Scalar(key, scalar, path) {
      const simple = key === 'key' || inFlow(path);
      if (typeof scalar.value === 'string' && rand() < 0.5) scalar.type = pick(simple ? QUOTE_STYLES : SCALAR_STYLES);
      if (!simple && rand() < 0.05) scalar.comment = pick(COMMENTS);
    },
  });
  if (isMap(doc.contents) && rand() < 0.3) doc.commentBefore = pick(COMMENTS);
  return doc.toString({ indent: rand() < 0.2 ? 4 : 2, indentSeq: rand() < 0.7 });
}

/** The stream as text: documents joined by `---`, optionally after a leading comment. */
export function streamText(model: StreamModel): string {
  const rand = prng(model.seed);
  const objects = model.workloads.flatMap((w) => [serviceObject(w), workloadObject(w)].filter((o) => o !== undefined));
  const docs = objects.map((o) => dress(o, rand));
  return (model.leadingComment ? '# generated by test/fuzz\n' : '') + docs.join('---\n');
}

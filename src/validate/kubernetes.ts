/**
 * Validation of Kubernetes objects, offline, the way the API server would judge them.
 *
 * Three layers, each reporting issues located at the offending value:
 *  1. the API's OpenAPI schema for the object's apiVersion/kind, as shipped (pre-compiled to ajv validators) by
 *     `kubernetes-models` and `@kubernetes-models/cert-manager`;
 *  2. unknown fields (what `kubectl apply --validate=strict` rejects): the OpenAPI schemas allow extra properties,
 *     so typos like `imagePullPolicyy` would pass (1) and be silently dropped by the API server;
 *  3. rules the API server enforces in code rather than in the schema (unique container names, mounts of declared
 *     volumes, port ranges, quantities, native-sidecar restartPolicy, ConfigMap keys and sizes, ...).
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ErrorObject } from 'ajv';
import { formatPath, type ConfigIssue } from './issue.js';
import { editDistance } from './edit-distance.js';
import { crdIssues, isCrdExtensionPath, type CrdCatalog } from './crd.js';

type Path = (string | number)[];
type JsonObject = Record<string, unknown>;

export interface KubernetesValidation {
  /** false when there is no schema for this apiVersion/kind (a CRD other than cert-manager's); no issues then. */
  known: boolean;
  issues: ConfigIssue[];
}

/**
 * Validates one Kubernetes object (a plain parsed JSON/YAML value) against the API's OpenAPI schema for its
 * apiVersion/kind, plus unknown-field and API-server checks. `kind: List` (apiVersion v1) validates each item, with
 * paths under `items[i]`. Each issue's message starts with its path, e.g.
 * `spec.template.spec.containers[0].ports[0].containerPort: must be integer (got string "80")`.
 * A `null` field counts as absent, as it does for the API server.
 */
export function validateKubernetesObject(obj: unknown, crds?: CrdCatalog): KubernetesValidation {
  return validateAt(obj, [], crds);
}

function validateAt(obj: unknown, base: Path, crds?: CrdCatalog): KubernetesValidation {
  if (!isObject(obj)) return { known: false, issues: [issue(base, 'must be a mapping with apiVersion and kind')] };
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    const missing = typeof apiVersion !== 'string' ? 'apiVersion' : 'kind';
    const text = `missing or non-string "${missing}": cannot tell which schema applies`;
    return { known: false, issues: [issue(base, text)] };
  }
  if (apiVersion === 'v1' && kind === 'List') return validateList(obj, base, crds);

  const model = loadModel(apiVersion, kind);
  if (!model) {
    // A custom resource of a CRD in the input: against that CRD's schema.
    const custom = crds?.validate(obj, (errors, o) => schemaIssues(errors, o, []));
    if (custom) return { known: true, issues: onePerPath(custom.map((i) => ({ path: [...base, ...i.path], message: `${formatPath([...base, ...i.path])}${i.message.slice(formatPath(i.path).length)}` }))) };
    return unknownKind(apiVersion, kind, base);
  }

  const { errors, observed, reads } = runSchema(model, obj);
  const isCrd = apiVersion === 'apiextensions.k8s.io/v1' && kind === 'CustomResourceDefinition';
  // The models' CRD schema lacks the OpenAPI extension fields: crd.ts checks those parts in full.
  const unknown = unknownFieldIssues(observed, reads, base).filter((i) => !isCrd || !isCrdExtensionPath(i.path.slice(base.length)));
  const issues = [
    ...schemaIssues(errors, obj, base),
    ...unknown,
    ...(isCrd ? crdIssues(obj, base) : []),
    ...apiServerIssues(kind, obj, base),
  ];
  return { known: true, issues: onePerPath(issues) };
}

/** `kind: List` is a kubectl convenience with no schema of its own: each item is validated as a document. */
function validateList(list: JsonObject, base: Path, crds?: CrdCatalog): KubernetesValidation {
  const issues: ConfigIssue[] = [];
  for (const key of Object.keys(list)) {
    if (['apiVersion', 'kind', 'metadata', 'items'].includes(key)) continue;
    issues.push(issue([...base, key], unknownFieldText(key, ['items', 'metadata'])));
  }
  const items = list.items ?? [];
  if (!Array.isArray(items)) return { known: true, issues: [...issues, issue([...base, 'items'], 'must be array')] };
  items.forEach((item, i) => issues.push(...validateAt(item, [...base, 'items', i], crds).issues));
  return { known: true, issues };
}

function issue(path: Path, text: string): ConfigIssue {
  return { path, message: `${formatPath(path)}: ${text}` };
}

/** Several layers can flag the same value (e.g. a bad quantity): the first, most specific report wins. */
function onePerPath(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = JSON.stringify(i.path);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Models: loaded lazily, one module per kind, so that a CLI run only pays for the kinds it meets.
// ---------------------------------------------------------------------------------------------------------------

/** What we need from a kubernetes-models class: its static type meta and the ajv-backed `validate()`. */
interface KubernetesModel {
  apiVersion: string;
  kind: string;
  prototype: { validate(this: unknown): void };
}

// The API is synchronous, and Node 20 cannot require() ES modules: load the packages' CommonJS builds.
const require = createRequire(import.meta.url);
const modelCache = new Map<string, KubernetesModel | null>();

// Both are interpolated into a module specifier: the shapes are strict so that no input can walk out of the packages.
const API_VERSION = /^(?:[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?\/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?$/;
const KIND = /^[A-Z][A-Za-z0-9]*$/;

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

function packageFor(group: string): string {
  const certManager = /(^|\.)cert-manager\.io$|^certmanager\.k8s\.io$/.test(group);
  return certManager ? '@kubernetes-models/cert-manager' : 'kubernetes-models';
}

function loadModel(apiVersion: string, kind: string): KubernetesModel | null {
  const key = `${apiVersion}/${kind}`;
  if (!modelCache.has(key)) modelCache.set(key, findModel(apiVersion, kind));
  return modelCache.get(key) ?? null;
}

function findModel(apiVersion: string, kind: string): KubernetesModel | null {
  if (!API_VERSION.test(apiVersion) || !KIND.test(kind)) return null;
  const exports = tryRequire(`${packageFor(groupOf(apiVersion))}/${apiVersion}/${kind}`);
  const model = exports?.[kind];
  // Same-named modules exist for types that are not kinds (v1/Container); a case-insensitive file system may also
  // resolve `DEPLOYMENT`: only a class that declares exactly this apiVersion and kind counts.
  return isModel(model) && model.apiVersion === apiVersion && model.kind === kind ? model : null;
}

function isModel(value: unknown): value is KubernetesModel {
  if (typeof value !== 'function') return false;
  return typeof (value as { prototype?: { validate?: unknown } }).prototype?.validate === 'function';
}

/**
 * A module's exports, or undefined when the package has no such module. Resolving first keeps "no schema for this
 * kind" apart from a broken install, whose load error must surface.
 */
function tryRequire(specifier: string): Record<string, unknown> | undefined {
  let file: string;
  try {
    file = require.resolve(specifier);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') return undefined;
    throw err;
  }
  return require(file) as Record<string, unknown>;
}

/**
 * Groups without a dot (core, apps, batch, autoscaling, policy, ...) are Kubernetes' own (a CRD group must contain
 * a dot) and kubernetes-models covers them, so a kind there that is one typo away from a real one is a mistake, not
 * a CRD. Anything else (OpenShift's legacy `v1 DeploymentConfig`, a kind newer than kubernetes-models) stays unknown.
 */
function unknownKind(apiVersion: string, kind: string, base: Path): KubernetesValidation {
  const unknown = { known: false, issues: [] };
  if (groupOf(apiVersion).includes('.') || !API_VERSION.test(apiVersion)) return unknown;
  const hint = closest(kind, modelNamesAt(apiVersion));
  // The directory also holds types that are not kinds (PodSpec): only suggest a real kind.
  if (!hint || !loadModel(apiVersion, hint)) return unknown;
  const text = `"${kind}" is not a kind of ${apiVersion} (did you mean "${hint}"?)`;
  return { known: true, issues: [issue([...base, 'kind'], text)] };
}

/** Names of the models kubernetes-models has for an API version, from its directory (loading them all takes 200 ms). */
function modelNamesAt(apiVersion: string): string[] {
  const root = dirname(require.resolve('kubernetes-models/package.json'));
  try {
    const files = readdirSync(join(root, apiVersion));
    return files.flatMap((file) => (/^[A-Z]\w*\.js$/.test(file) ? [file.slice(0, -3)] : []));
  } catch {
    return []; // no such API version
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Layer 1: the OpenAPI schema, observed while it runs.
// ---------------------------------------------------------------------------------------------------------------

/**
 * Which schema properties applied to each object of the input. kubernetes-models ships its schemas only as compiled
 * ajv code, not as data. That code looks up every declared property of an object (`data.image === undefined || ...`)
 * and, for maps (labels, ConfigMap data, resource lists), every key present: watching those reads through a Proxy
 * recovers, for each object, the keys its schema allows, with no second copy of the schema to keep in sync.
 */
type SchemaReads = WeakMap<object, Set<string>>;

function observeReads(root: JsonObject): { proxy: JsonObject; reads: SchemaReads } {
  const reads: SchemaReads = new WeakMap();
  const proxies = new WeakMap<object, object>();
  const wrap = (value: unknown): unknown => {
    // The API server decodes `field: null` as an absent field (`restartPolicy: null` gets the default); some
    // schemas (enums) would reject it.
    if (value === null) return undefined;
    if (!isObject(value) && !Array.isArray(value)) return value;
    const existing = proxies.get(value);
    if (existing) return existing;
    const read = new Set<string>();
    reads.set(value, read);
    const proxy = new Proxy(value, {
      get(target, key) {
        if (typeof key === 'string') read.add(key);
        return wrap(Reflect.get(target, key));
      },
      has(target, key) {
        if (typeof key === 'string') read.add(key);
        return Reflect.has(target, key);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  return { proxy: wrap(root) as JsonObject, reads };
}

/** Runs the schema on a copy of obj (`observed`: a frozen input would forbid the proxies their own return values). */
function runSchema(
  model: KubernetesModel,
  obj: JsonObject,
): { errors: ErrorObject[]; observed: JsonObject; reads: SchemaReads } {
  const observed = structuredClone(obj);
  const { proxy, reads } = observeReads(observed);
  try {
    // `validate()` validates `this`; calling it on the proxy (instead of `new Model(obj)`, which deep-copies) lets
    // the observation see the reads.
    model.prototype.validate.call(proxy);
    return { errors: [], observed, reads };
  } catch (err) {
    const errors = (err as { errors?: unknown }).errors;
    if (Array.isArray(errors)) return { errors: errors as ErrorObject[], observed, reads };
    throw err;
  }
}

function schemaIssues(errors: ErrorObject[], obj: JsonObject, base: Path): ConfigIssue[] {
  // A oneOf/anyOf (int-or-string, number-or-quantity) also reports each failed branch at the same place: fold the
  // branches into the one message.
  const isAlternatives = (e: ErrorObject) => e.keyword === 'oneOf' || e.keyword === 'anyOf';
  const alternatives = new Set(errors.filter(isAlternatives).map((e) => e.instancePath));
  const issues: ConfigIssue[] = [];
  for (const error of errors) {
    if (alternatives.has(error.instancePath) && !isAlternatives(error)) continue;
    const path = pointerToPath(error.instancePath, obj);
    const branches = errors.filter((e) => e.instancePath === error.instancePath && e !== error);
    const { at, text } = describeSchemaError(error, branches, valueAt(obj, path), path);
    issues.push(issue([...base, ...path, ...at], text));
  }
  return issues;
}

/** `/spec/containers/0/name` -> ['spec', 'containers', 0, 'name']; a segment is a number only inside an array. */
function pointerToPath(pointer: string, root: unknown): Path {
  if (pointer === '') return [];
  const path: Path = [];
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const key = Array.isArray(node) && /^\d+$/.test(segment) ? Number(segment) : segment;
    path.push(key);
    node = child(node, key);
  }
  return path;
}

function valueAt(root: unknown, path: Path): unknown {
  let node = root;
  for (const key of path) node = child(node, key);
  return node;
}

function child(node: unknown, key: string | number): unknown {
  return isObject(node) || Array.isArray(node) ? (node as Record<string | number, unknown>)[key] : undefined;
}

const QUANTITY_HINT = 'must be a quantity such as 100m, 0.5, 64Mi or 1Gi';

const FORMAT_TEXT: Record<string, string> = {
  quantity: QUANTITY_HINT,
  int32: 'must be a 32-bit integer',
  int64: 'must be a 64-bit integer',
  byte: 'must be base64-encoded',
  'date-time': 'must be an RFC 3339 date-time like 2024-01-31T12:00:00Z',
};

/** A human sentence for one ajv error; `at` extends the path when the error is about a child (missing field). */
function describeSchemaError(
  error: ErrorObject,
  branches: ErrorObject[],
  value: unknown,
  path: Path,
): { at: Path; text: string } {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { at: [], text: `missing required field "${String(params.missingProperty)}"` };
    case 'additionalProperties':
      return { at: [String(params.additionalProperty)], text: 'unknown field' };
    case 'type':
      return { at: [], text: typeText(String(params.type), value, path) };
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      return { at: [], text: `must be one of ${allowed} (got ${describeValue(value)})` };
    }
    case 'format': {
      const format = String(params.format);
      return { at: [], text: `${FORMAT_TEXT[format] ?? `must be in ${format} format`} (got ${describeValue(value)})` };
    }
    case 'oneOf':
    case 'anyOf':
      return { at: [], text: `${alternativesText(branches)} (got ${describeValue(value)})` };
    default:
      return { at: [], text: error.message ?? `fails schema rule "${error.keyword}"` };
  }
}

function alternativesText(branches: ErrorObject[]): string {
  const param = (e: ErrorObject, name: string) => String((e.params as Record<string, unknown>)[name]);
  if (branches.some((b) => b.keyword === 'format' && param(b, 'format') === 'quantity')) return QUANTITY_HINT;
  const types = branches.filter((b) => b.keyword === 'type').map((b) => param(b, 'type'));
  if (types.length === branches.length && types.length > 0) return `must be ${[...new Set(types)].join(' or ')}`;
  return [...new Set(branches.map((b) => b.message ?? b.keyword))].join(', or ') || 'matches none of the allowed forms';
}

function typeText(expected: string, value: unknown, path: Path): string {
  const text = `must be ${expected} (got ${describeValue(value)})`;
  // YAML turns `true`, `8080` and `1.10` into non-strings: the usual cause of "must be string" on a label,
  // annotation, env value or ConfigMap entry.
  if (expected === 'string' && (typeof value === 'number' || typeof value === 'boolean')) {
    const map = path.at(-2);
    const where = map === 'annotations' || map === 'labels' ? `${map.slice(0, -1)} values are strings: ` : '';
    return `${text}; ${where}quote it in YAML: "${String(value)}"`;
  }
  return text;
}

function describeValue(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return 'mapping';
  const shown = JSON.stringify(value);
  if (typeof value !== 'string') return `${typeof value} ${shown}`;
  return `string ${shown.length > 40 ? `${shown.slice(0, 37)}..."` : shown}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Layer 2: unknown fields.
// ---------------------------------------------------------------------------------------------------------------

/**
 * Keys the schema did not look up are unknown. Objects it never looked into (free-form fields such as a CRD's
 * `x-kubernetes-preserve-unknown-fields`, or values of the wrong type, reported already) are not judged.
 */
function unknownFieldIssues(value: unknown, reads: SchemaReads, path: Path): ConfigIssue[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => unknownFieldIssues(item, reads, [...path, i]));
  const read = isObject(value) ? reads.get(value) : undefined;
  if (!isObject(value) || !read || read.size === 0) return [];
  return Object.entries(value).flatMap(([key, field]) =>
    read.has(key)
      ? unknownFieldIssues(field, reads, [...path, key])
      : [issue([...path, key], unknownFieldText(key, [...read]))],
  );
}

function unknownFieldText(key: string, known: string[]): string {
  const hint = closest(key, known);
  return `unknown field "${key}"` + (hint ? ` (did you mean "${hint}"?)` : '');
}

/** The candidate a typo most likely meant: same letters in another case, or at most 2 edits away. */
function closest(word: string, candidates: string[]): string | undefined {
  const lower = word.toLowerCase();
  const sameCase = candidates.find((c) => c.toLowerCase() === lower);
  if (sameCase) return sameCase;
  // Short words are too easily "close" to anything: allow one edit per 3 characters, 2 at most.
  const allowed = Math.min(2, Math.floor(word.length / 3));
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance <= allowed && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/** Levenshtein distance, with a swap of two neighbours counting as one edit (`paht`, `valeu`). */

// ---------------------------------------------------------------------------------------------------------------
// Layer 3: what the API server checks in code (k8s.io/kubernetes/pkg/apis/core/validation and apimachinery).
// ---------------------------------------------------------------------------------------------------------------

/** Where each kind keeps its pod template, relative to the object (a Pod is its own). */
const POD_TEMPLATE_PATHS: Record<string, Path> = {
  Pod: [],
  PodTemplate: ['template'],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

/** Kinds whose spec.selector must select the pod template's labels, or the API server rejects the object. */
const SELECTING_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet']);

function apiServerIssues(kind: string, obj: JsonObject, base: Path): ConfigIssue[] {
  const at = (path: Path): Path => [...base, ...path];
  const podSpecPath = POD_TEMPLATE_PATHS[kind] && [...POD_TEMPLATE_PATHS[kind], 'spec'];
  const podSpec = podSpecPath && valueAt(obj, podSpecPath);
  return [
    ...objectMetaPaths(kind, obj).flatMap((path) => objectMetaIssues(valueAt(obj, path), at(path))),
    ...(podSpecPath && isObject(podSpec) ? podSpecIssues(podSpec, at(podSpecPath)) : []),
    ...(SELECTING_KINDS.has(kind) ? selectorIssues(obj, base) : []),
    ...(kind === 'ConfigMap' ? dataMapIssues(obj, ['data', 'binaryData'], base) : []),
    ...(kind === 'Secret' ? dataMapIssues(obj, ['data', 'stringData'], base) : []),
    ...(kind === 'Service' ? servicePortIssues(valueAt(obj, ['spec', 'ports']), at(['spec', 'ports'])) : []),
  ];
}

/** Every ObjectMeta in the object: its own, and those of the templates it stamps objects from. */
function objectMetaPaths(kind: string, obj: JsonObject): Path[] {
  const template = POD_TEMPLATE_PATHS[kind];
  const paths: Path[] = [['metadata']];
  if (template && template.length > 0) paths.push([...template, 'metadata']);
  if (kind === 'CronJob') paths.push(['spec', 'jobTemplate', 'metadata']);
  if (kind === 'StatefulSet') {
    const claims = asArray(valueAt(obj, ['spec', 'volumeClaimTemplates']));
    claims.forEach((_, i) => paths.push(['spec', 'volumeClaimTemplates', i, 'metadata']));
  }
  return paths;
}

// --- names -------------------------------------------------------------------------------------------------------

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAME_CHARS = "letters, digits, '-', '_' or '.', starting and ending with a letter or digit";

function dnsLabelProblem(name: string): string | undefined {
  if (name.length > 63) return `"${name}" is longer than 63 characters`;
  if (DNS1123_LABEL.test(name)) return undefined;
  return `"${name}" must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit`;
}

/** IANA service names, the form of named ports: 1-15 of [a-z0-9-], a letter, no leading/trailing/double '-'. */
function portNameProblem(name: string): string | undefined {
  const ok = name.length <= 15 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name) && /[a-z]/.test(name) && !name.includes('--');
  if (ok) return undefined;
  return `"${name}" must be an IANA service name: at most 15 lowercase letters, digits and '-', with at least one letter`;
}

/** Label and annotation keys: an optional DNS-subdomain prefix and '/', then a name of up to 63 characters. */
function qualifiedNameProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const [prefix, name] = slash < 0 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
  if (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) {
    return `key "${key}" has an invalid prefix: must be a lowercase DNS subdomain`;
  }
  if (name.length > 63 || !QUALIFIED_NAME_PART.test(name)) {
    return `key "${key}" is invalid: the name part must be 1-63 ${NAME_CHARS}`;
  }
  return undefined;
}

// --- metadata ------------------------------------------------------------------------------------------------------

/** etcd and the API server cap all annotations of one object together. */
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

function objectMetaIssues(meta: unknown, path: Path): ConfigIssue[] {
  if (!isObject(meta)) return [];
  const issues: ConfigIssue[] = [];
  const labels = asObject(meta.labels);
  for (const [key, value] of Object.entries(labels)) {
    const keyProblem = qualifiedNameProblem(key);
    if (keyProblem) issues.push(issue([...path, 'labels', key], keyProblem));
    else if (typeof value === 'string' && (value.length > 63 || (value !== '' && !QUALIFIED_NAME_PART.test(value)))) {
      issues.push(issue([...path, 'labels', key], `label value "${value}" must be at most 63 ${NAME_CHARS}`));
    }
  }
  const annotations = asObject(meta.annotations);
  let size = 0;
  for (const [key, value] of Object.entries(annotations)) {
    // The API server lower-cases annotation keys before checking them.
    const keyProblem = qualifiedNameProblem(key.toLowerCase());
    if (keyProblem) issues.push(issue([...path, 'annotations', key], keyProblem));
    size += byteLength(key) + (typeof value === 'string' ? byteLength(value) : 0);
  }
  if (size > MAX_ANNOTATIONS_BYTES) {
    issues.push(issue([...path, 'annotations'], `total ${size} bytes, more than the 262144 (256 KiB) the API server accepts`));
  }
  return issues;
}

/** spec.selector must select the pod template, or the API server says "selector does not match template labels". */
function selectorIssues(obj: JsonObject, base: Path): ConfigIssue[] {
  const selector = valueAt(obj, ['spec', 'selector']);
  const labels = valueAt(obj, ['spec', 'template', 'metadata', 'labels']);
  if (!isObject(selector)) return [];
  if (selects(selector, asObject(labels))) return [];
  return [issue([...base, 'spec', 'selector'], 'does not match the pod template labels (spec.template.metadata.labels)')];
}

function selects(selector: JsonObject, labels: JsonObject): boolean {
  const matchLabels = Object.entries(asObject(selector.matchLabels)).every(([key, value]) => labels[key] === value);
  const matchExpressions = asArray(selector.matchExpressions).every((expression) => {
    const { key, operator, values } = asObject(expression);
    const present = typeof key === 'string' && key in labels;
    const listed = present && asArray(values).includes(labels[key as string]);
    switch (operator) {
      case 'In': return present && listed;
      case 'NotIn': return !present || !listed;
      case 'Exists': return present;
      case 'DoesNotExist': return !present;
      default: return true; // an unknown operator is the schema's business
    }
  });
  return matchLabels && matchExpressions;
}

// --- pod spec ------------------------------------------------------------------------------------------------------

const CONTAINER_LISTS = ['containers', 'initContainers', 'ephemeralContainers'] as const;
type ContainerList = (typeof CONTAINER_LISTS)[number];

interface ContainerAt {
  list: ContainerList;
  container: JsonObject;
  path: Path;
}

function containersOf(spec: JsonObject, specPath: Path): ContainerAt[] {
  return CONTAINER_LISTS.flatMap((list) =>
    asArray(spec[list]).flatMap((container, i) =>
      isObject(container) ? [{ list, container, path: [...specPath, list, i] }] : [],
    ),
  );
}

function podSpecIssues(spec: JsonObject, path: Path): ConfigIssue[] {
  const containers = containersOf(spec, path);
  const volumes = asArray(spec.volumes).map((v, i) => ({ volume: asObject(v), path: [...path, 'volumes', i] }));
  const volumeNames = new Set(volumes.map((v) => v.volume.name).filter((n): n is string => typeof n === 'string'));
  const containerNames = containers.map((c) => ({ name: c.container.name, path: [...c.path, 'name'] }));
  return [
    ...uniqueNameIssues(containerNames, 'container', dnsLabelProblem),
    ...uniqueNameIssues(volumes.map((v) => ({ name: v.volume.name, path: [...v.path, 'name'] })), 'volume', dnsLabelProblem),
    ...volumes.flatMap((v) => quantityIssues(asObject(v.volume.emptyDir).sizeLimit, [...v.path, 'emptyDir', 'sizeLimit'])),
    ...resourceListIssues(spec.overhead, [...path, 'overhead']),
    ...resourcesIssues(spec.resources, [...path, 'resources']),
    ...containers.flatMap((c) => containerIssues(c, volumeNames)),
  ];
}

/** Names must be valid and unique in their scope (for containers: containers, initContainers, ephemeralContainers). */
function uniqueNameIssues(
  named: { name: unknown; path: Path }[],
  what: string,
  problemOf: (name: string) => string | undefined,
): ConfigIssue[] {
  const firstAt = new Map<string, Path>();
  const issues: ConfigIssue[] = [];
  for (const { name, path } of named) {
    if (typeof name !== 'string') continue; // missing or mistyped: the schema reports it
    const problem = problemOf(name);
    const first = firstAt.get(name);
    if (problem) issues.push(issue(path, problem));
    else if (first) issues.push(issue(path, `duplicate ${what} name "${name}" (also at ${formatPath(first)})`));
    else firstAt.set(name, path);
  }
  return issues;
}

function containerIssues(at: ContainerAt, volumeNames: Set<string>): ConfigIssue[] {
  const { container, path } = at;
  return [
    ...restartPolicyIssues(at),
    ...initContainerHookIssues(at),
    ...PROBES.flatMap((kind) => probeIssues(container[kind], kind, [...path, kind])),
    ...volumeMountIssues(container.volumeMounts, volumeNames, [...path, 'volumeMounts']),
    ...containerPortIssues(container.ports, [...path, 'ports']),
    ...resourcesIssues(container.resources, [...path, 'resources']),
  ];
}

/**
 * `restartPolicy: Always` on an init container makes it a native sidecar (Kubernetes >= 1.29): it starts before
 * the app and keeps running. On any other container the field is rejected.
 */
function restartPolicyIssues({ list, container, path }: ContainerAt): ConfigIssue[] {
  const policy = container.restartPolicy;
  if (policy === undefined || policy === null) return [];
  if (list !== 'initContainers') {
    const text = `may only be set on initContainers (Always there makes a native sidecar, Kubernetes >= 1.29), not on ${list}`;
    return [issue([...path, 'restartPolicy'], text)];
  }
  if (policy === 'Always') return [];
  return [issue([...path, 'restartPolicy'], `must be "Always" on an init container (got ${describeValue(policy)})`)];
}

const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;
const PROBE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'] as const;

/** An init container that runs to completion has no lifetime for probes or hooks to act on. */
function initContainerHookIssues({ list, container, path }: ContainerAt): ConfigIssue[] {
  if (list !== 'initContainers' || container.restartPolicy === 'Always') return [];
  return [...PROBES, 'lifecycle' as const]
    .filter((field) => container[field] !== undefined && container[field] !== null)
    .map((field) => issue([...path, field], 'may not be set on an init container unless its restartPolicy is Always'));
}

function probeIssues(probe: unknown, kind: (typeof PROBES)[number], path: Path): ConfigIssue[] {
  if (!isObject(probe)) return [];
  const issues: ConfigIssue[] = [];
  const handlers = PROBE_HANDLERS.filter((h) => probe[h] !== undefined && probe[h] !== null);
  if (handlers.length === 0) issues.push(issue(path, `needs one handler: ${PROBE_HANDLERS.join(', ')}`));
  if (handlers.length > 1) issues.push(issue(path, `has ${handlers.join(' and ')}: exactly one handler is allowed`));
  // Only readiness can take several successes to flip; liveness and startup act on the first.
  const threshold = probe.successThreshold;
  if (kind !== 'readinessProbe' && threshold !== undefined && threshold !== null && threshold !== 1) {
    issues.push(issue([...path, 'successThreshold'], `must be 1 for a ${kind}`));
  }
  for (const handler of ['httpGet', 'tcpSocket'] as const) {
    issues.push(...portRefIssues(asObject(probe[handler]).port, [...path, handler, 'port']));
  }
  return issues;
}

function volumeMountIssues(mounts: unknown, volumeNames: Set<string>, path: Path): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const mountPaths = new Map<string, number>();
  asArray(mounts).forEach((mount, i) => {
    const { name, mountPath } = asObject(mount);
    if (typeof name === 'string' && !volumeNames.has(name)) {
      issues.push(issue([...path, i, 'name'], `volume "${name}" is not declared in the pod's volumes`));
    }
    if (typeof mountPath === 'string') {
      const first = mountPaths.get(mountPath);
      if (first === undefined) mountPaths.set(mountPath, i);
      else issues.push(issue([...path, i, 'mountPath'], `"${mountPath}" is already mounted by volumeMounts[${first}]`));
    }
  });
  return issues;
}

function containerPortIssues(ports: unknown, path: Path): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const names = new Set<string>();
  asArray(ports).forEach((port, i) => {
    const { containerPort, hostPort, name } = asObject(port);
    issues.push(...portNumberIssues(containerPort, [...path, i, 'containerPort']));
    if (hostPort !== 0) issues.push(...portNumberIssues(hostPort, [...path, i, 'hostPort']));
    if (typeof name === 'string') {
      const duplicate = names.has(name) ? `duplicate port name "${name}" in this container` : undefined;
      const problem = portNameProblem(name) ?? duplicate;
      if (problem) issues.push(issue([...path, i, 'name'], problem));
      names.add(name);
    }
  });
  return issues;
}

function portNumberIssues(port: unknown, path: Path): ConfigIssue[] {
  if (typeof port !== 'number' || !Number.isInteger(port)) return []; // absent, or a type error the schema reports
  return port >= 1 && port <= 65535 ? [] : [issue(path, `must be a port number between 1 and 65535 (got ${port})`)];
}

/** int-or-string port references (targetPort, probe ports): a port number or the name of a container port. */
function portRefIssues(port: unknown, path: Path): ConfigIssue[] {
  if (typeof port === 'number') return portNumberIssues(port, path);
  if (typeof port !== 'string') return [];
  const problem = portNameProblem(port);
  return problem ? [issue(path, `${problem} (or a port number)`)] : [];
}

function servicePortIssues(ports: unknown, path: Path): ConfigIssue[] {
  const list = asArray(ports);
  const names = list.map((p, i) => ({ name: asObject(p).name, path: [...path, i, 'name'] }));
  const issues = uniqueNameIssues(names, 'port', dnsLabelProblem);
  list.forEach((p, i) => {
    const { port, targetPort, name } = asObject(p);
    if (list.length > 1 && typeof name !== 'string') {
      issues.push(issue([...path, i], 'needs a name: a Service with several ports must name each one'));
    }
    issues.push(...portNumberIssues(port, [...path, i, 'port']));
    // targetPort 0 or "" is defaulted to port before validation.
    if (targetPort !== 0 && targetPort !== '') issues.push(...portRefIssues(targetPort, [...path, i, 'targetPort']));
  });
  return issues;
}

// --- resources -----------------------------------------------------------------------------------------------------

function resourcesIssues(resources: unknown, path: Path): ConfigIssue[] {
  const { limits, requests } = asObject(resources);
  const issues = [...resourceListIssues(limits, [...path, 'limits']), ...resourceListIssues(requests, [...path, 'requests'])];
  for (const [name, request] of Object.entries(asObject(requests))) {
    const limit = asObject(limits)[name];
    const [wanted, cap] = [parseQuantity(request), parseQuantity(limit)];
    // Quantities are decimal; compare as floats with a margin for rounding ("0.1" vs "100m").
    if (wanted !== undefined && cap !== undefined && wanted > cap * (1 + 1e-12)) {
      issues.push(issue([...path, 'requests', name], `must be less than or equal to the ${name} limit (${String(limit)})`));
    }
  }
  return issues;
}

function resourceListIssues(list: unknown, path: Path): ConfigIssue[] {
  return Object.entries(asObject(list)).flatMap(([name, value]) => quantityIssues(value, [...path, name]));
}

function quantityIssues(value: unknown, path: Path): ConfigIssue[] {
  if (value === undefined || value === null) return [];
  const parsed = parseQuantity(value);
  if (parsed === undefined) return [issue(path, `${QUANTITY_HINT} (got ${describeValue(value)})`)];
  return parsed < 0 ? [issue(path, `must not be negative (got ${describeValue(value)})`)] : [];
}

/**
 * The numeric value of a Kubernetes resource quantity ("100m", "64Mi", "1e3", 0.5), or undefined if the API server
 * would not parse it. Stricter than the schema's format, which lets through suffixes like "1h" or "1da".
 */
function parseQuantity(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/.exec(value);
  if (!match) return undefined;
  const [, number, suffix = ''] = match;
  const scale = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : QUANTITY_SCALE[suffix]!;
  return Number(number) * scale;
}

const QUANTITY_SCALE: Record<string, number> = {
  '': 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

// --- ConfigMap and Secret data -------------------------------------------------------------------------------------

/** Shared by ConfigMap and Secret: both end up as one object in etcd, capped at 1 MiB of values. */
const MAX_DATA_BYTES = 1024 * 1024;
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;

function dataMapIssues(
  obj: JsonObject,
  fields: ['data', 'binaryData'] | ['data', 'stringData'],
  base: Path,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const firstIn = new Map<string, string>();
  let size = 0;
  for (const field of fields) {
    for (const [key, value] of Object.entries(asObject(obj[field]))) {
      const path = [...base, field, key];
      if (key.length > 253 || !DATA_KEY.test(key) || key === '.' || key === '..') {
        issues.push(issue(path, `key "${key}" must be up to 253 letters, digits, '-', '_' or '.' (and not "." or "..")`));
      } else if (firstIn.has(key) && obj.kind === 'ConfigMap') {
        // (a Secret's stringData deliberately overrides data)
        issues.push(issue(path, `key "${key}" is also in ${firstIn.get(key)}: keys must be unique across data and binaryData`));
      }
      firstIn.set(key, field);
      if (typeof value !== 'string') continue; // the schema reports it
      size += isBase64Field(obj.kind, field) ? Buffer.from(value, 'base64').length : byteLength(value);
    }
  }
  if (size > MAX_DATA_BYTES) {
    issues.push(issue(base, `${String(obj.kind)} data totals ${size} bytes, more than the 1048576 (1 MiB) the API server accepts`));
  }
  return issues;
}

/** The limit counts stored bytes: base64 fields are stored decoded. */
function isBase64Field(kind: unknown, field: string): boolean {
  return field === 'binaryData' || (kind === 'Secret' && field === 'data');
}

// --- small helpers -------------------------------------------------------------------------------------------------

function isObject(value: unknown): value is JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Checks run on possibly-invalid input: a wrong type reads as empty here, and the schema layer reports it. */
function asObject(value: unknown): JsonObject {
  return isObject(value) ? value : {};
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

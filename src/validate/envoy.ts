/**
 * Strict validation of Envoy v3 configuration values (parsed YAML/JSON) against Envoy's own protos.
 *
 * Envoy loads YAML by converting it to JSON and parsing that with protobuf's JSON parser (proto3 JSON
 * mapping, unknown fields rejected), then runs the protoc-gen-validate (PGV) checks declared in the
 * protos and warns about deprecated fields. We reproduce those three steps here so that a config we
 * generate fails in CI rather than at Envoy startup.
 *
 * Structure:
 *  1. Loading: parse the .proto files shipped by @grpc/grpc-js-xds with protobufjs and reduce them to a
 *     small JSON-serialisable {@link Schema} (cached on disk, because parsing ~400 files costs a few
 *     hundred ms per process).
 *  2. JSON mapping: walk the input value against the schema (unknown fields, JSON types, enums,
 *     well-known types, Any, oneofs).
 *  3. PGV: pure functions that turn `(validate.rules)` and a parsed value into violation messages.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import path from 'node:path';
import protobuf from 'protobufjs';
import type { ConfigIssue } from './issue.js';
import { editDistance } from './edit-distance.js';

/**
 * Issue paths are paths in the input value, with keys as written (snake_case or camelCase) and list
 * indexes as numbers. A missing field has no key to point at, so it is reported on the object that
 * should contain it, e.g. `{ path: [..., 'clusters', 0], message: 'missing field "name": ...' }`.
 * Messages starting with {@link DEPRECATED_PREFIX} are warnings; everything else Envoy would reject.
 */
export interface EnvoyValidator {
  /** Validate a value against a fully qualified message type, e.g. 'envoy.config.bootstrap.v3.Bootstrap'. Throws for an unknown type name. */
  validate(typeName: string, value: unknown): ConfigIssue[];
  validateBootstrap(value: unknown): ConfigIssue[];
  /** Proto files that could not be loaded (missing third-party imports), one human-readable line each. */
  readonly notes: readonly string[];
}

export const BOOTSTRAP_TYPE = 'envoy.config.bootstrap.v3.Bootstrap';

/** Issues about deprecated (but still accepted) fields start with this, so callers may treat them as warnings. */
export const DEPRECATED_PREFIX = 'deprecated:';

let cached: Promise<EnvoyValidator> | undefined;

/**
 * Loads the Envoy protos once per process; later calls return the same validator. The work is
 * synchronous CPU (about 60 ms from the disk cache, a few hundred ms when parsing the protos).
 */
export function loadEnvoyValidator(): Promise<EnvoyValidator> {
  if (!cached) {
    cached = Promise.resolve().then(() => createValidator(loadSchema()));
    // A failed load should not poison the cache for a later retry.
    cached.catch(() => (cached = undefined));
  }
  return cached;
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// Schema model: what the validator needs from the protos, as plain JSON-serialisable data.
// ────────────────────────────────────────────────────────────────────────────────────────────────

const SCALAR_TYPES = [
  'double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64',
  'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'bool', 'string', 'bytes',
] as const;
type ScalarType = (typeof SCALAR_TYPES)[number];
const isScalarType = (t: string): t is ScalarType => (SCALAR_TYPES as readonly string[]).includes(t);

interface NumericRules {
  const?: number; lt?: number; lte?: number; gt?: number; gte?: number;
  in?: number[]; not_in?: number[]; ignore_empty?: boolean;
}
interface StringRules {
  const?: string; len?: number; min_len?: number; max_len?: number;
  len_bytes?: number; min_bytes?: number; max_bytes?: number;
  pattern?: string; prefix?: string; suffix?: string; contains?: string; not_contains?: string;
  in?: string[]; not_in?: string[]; well_known_regex?: string; strict?: boolean; ignore_empty?: boolean;
  email?: boolean; hostname?: boolean; ip?: boolean; ipv4?: boolean; ipv6?: boolean;
  uri?: boolean; uri_ref?: boolean; address?: boolean; uuid?: boolean;
}
interface BytesRules { const?: string; len?: number; min_len?: number; max_len?: number; ignore_empty?: boolean }
interface EnumRules { const?: number; defined_only?: boolean; in?: number[]; not_in?: number[] }
/** Duration bounds as decimal nanosecond strings (bigint is not JSON-serialisable for the cache). */
interface DurationRules {
  required?: boolean; const?: string; lt?: string; lte?: string; gt?: string; gte?: string;
  in?: string[]; not_in?: string[];
}
interface RepeatedRules { min_items?: number; max_items?: number; unique?: boolean; items?: FieldRules; ignore_empty?: boolean }
interface MapRules { min_pairs?: number; max_pairs?: number; keys?: FieldRules; values?: FieldRules; ignore_empty?: boolean }

const NUMERIC_RULE_KINDS = [
  'double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64',
  'fixed32', 'fixed64', 'sfixed32', 'sfixed64',
] as const;
type NumericRuleKind = (typeof NUMERIC_RULE_KINDS)[number];

/** protoc-gen-validate `FieldRules`, normalised (`in`/`not_in` always arrays, durations in nanos). */
type FieldRules = {
  message?: { required?: boolean; skip?: boolean };
  string?: StringRules;
  bytes?: BytesRules;
  bool?: { const?: boolean };
  enum?: EnumRules;
  repeated?: RepeatedRules;
  map?: MapRules;
  any?: { required?: boolean; in?: string[]; not_in?: string[] };
  duration?: DurationRules;
  timestamp?: { required?: boolean };
} & { [K in NumericRuleKind]?: NumericRules };

interface FieldSchema {
  name: string;
  jsonName: string;
  /** Scalar type name, or the fully qualified (no leading dot) message/enum name. */
  type: string;
  kind: 'scalar' | 'enum' | 'message';
  label: 'single' | 'repeated' | 'map';
  /** Key type of a map field. */
  keyType?: ScalarType;
  /** Real (non-synthetic) oneof this field belongs to. */
  oneof?: string;
  /** proto3 `optional`: PGV only checks the value when it is set. */
  explicitPresence?: boolean;
  rules?: FieldRules;
  /** `deprecated = true`, with the `deprecated_at_minor_version` annotation when present. */
  deprecated?: string | true;
  disallowedByDefault?: boolean;
}

interface OneofSchema { name: string; fields: string[]; required: boolean }

interface MessageSchema {
  fields: FieldSchema[];
  oneofs: OneofSchema[];
  /** `option (validate.disabled) = true`: no PGV checks for this message. */
  pgvDisabled?: boolean;
}

interface EnumSchema {
  values: Record<string, number>;
  deprecated: string[];
  disallowed: string[];
}

interface Schema {
  messages: Record<string, MessageSchema>;
  enums: Record<string, EnumSchema>;
  notes: string[];
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// Loading
// ────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Part of the disk cache key: bump it whenever the Schema shape or its extraction changes. (Hashing
 * this file instead would give src/ under vitest and dist/ different keys that evict each other.)
 * A test compares the cached schema with a fresh parse, so a forgotten bump fails CI.
 */
const SCHEMA_FORMAT = 1;

const require = createRequire(import.meta.url);

interface ProtoSources {
  /** Include roots searched in order, like protoc's -I. */
  roots: string[];
  /** Files to load (relative to a root); their imports are followed. */
  entries: string[];
  cacheKey: string;
  cacheDir: string;
}

function locateProtoSources(): ProtoSources {
  const xdsPkg = require.resolve('@grpc/grpc-js-xds/package.json');
  const pbPkg = require.resolve('protobufjs/package.json');
  const deps = path.join(path.dirname(xdsPkg), 'deps');
  const envoyApi = path.join(deps, 'envoy-api');
  const xds = path.join(deps, 'xds');
  // protobufjs ships google/protobuf/descriptor.proto, which the annotation protos extend.
  const roots = [envoyApi, xds, path.join(deps, 'protoc-gen-validate'), path.join(deps, 'googleapis'), path.dirname(pbPkg)];

  // grpc-js-xds also ships a partial set of v2 protos whose envoy/api/v2 imports are missing, and v2
  // is no longer accepted by Envoy anyway: only v3 packages are entry points.
  const isV3 = (rel: string) => rel.split('/').includes('v3');
  const entries = [
    ...['envoy/config', 'envoy/extensions', 'envoy/type'].flatMap((dir) => listProtos(envoyApi, dir).filter(isV3)),
    ...listProtos(xds, 'xds'),
    ...listProtos(xds, 'udpa'),
    'validate/validate.proto',
  ];

  const version = (pkg: string) => (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  const cacheKey = createHash('sha256')
    .update(JSON.stringify([SCHEMA_FORMAT, version(xdsPkg), version(pbPkg), entries]))
    .digest('hex')
    .slice(0, 16);
  // The node_modules holding @grpc/grpc-js-xds: node_modules/.cache is the conventional, never committed place.
  const cacheDir = path.join(path.dirname(xdsPkg), '..', '..', '.cache', 'sidecarctl');
  return { roots, entries, cacheKey, cacheDir };
}

function listProtos(root: string, dir: string): string[] {
  const abs = path.join(root, dir);
  if (!existsSync(abs)) return [];
  return (readdirSync(abs, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.proto'))
    .map((f) => path.posix.join(dir, f.split(path.sep).join('/')))
    .sort();
}

const CACHE_PREFIX = 'envoy-schema-';

function loadSchema(): Schema {
  const sources = locateProtoSources();
  const cacheFile = path.join(sources.cacheDir, `${CACHE_PREFIX}${sources.cacheKey}.json`);
  const fromCache = readCache(cacheFile);
  if (fromCache) return fromCache;
  const schema = buildSchema(sources);
  writeCache(cacheFile, schema);
  return schema;
}

function readCache(file: string): Schema | undefined {
  if (process.env.SIDECARCTL_NO_SCHEMA_CACHE) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Schema;
  } catch {
    return undefined; // missing or corrupt: rebuild
  }
}

/** Best effort: a read-only node_modules only costs the rebuild next time. */
function writeCache(file: string, schema: Schema): void {
  if (process.env.SIDECARCTL_NO_SCHEMA_CACHE) return;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    // Write-then-rename so that a concurrent reader (parallel test workers) never sees half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(schema));
    renameSync(tmp, file);
    // Drop caches left by older versions of the protos or of this module.
    const dir = path.dirname(file);
    for (const old of readdirSync(dir)) {
      if (old.startsWith(CACHE_PREFIX) && old.endsWith('.json') && path.join(dir, old) !== file) rmSync(path.join(dir, old), { force: true });
    }
  } catch {
    /* ignore */
  }
}

/** Parses the protos and extracts the schema (the slow path the disk cache avoids). */
function buildSchema(sources: ProtoSources): Schema {
  const { root, notes } = parseProtos(sources);
  const schema: Schema = { messages: {}, enums: {}, notes };
  collectTypes(root, schema);
  return schema;
}

const IMPORT_RE = /^\s*import\s+(public\s+|weak\s+)?"([^"]+)"\s*;/gm;

/**
 * Parses every entry file and its imports into one protobufjs Root. We do not use `Root.loadSync`:
 * it resolves the whole root after each file, so one file with a missing import (several Envoy protos
 * import opencensus/opentelemetry/prometheus protos that grpc-js-xds does not ship) makes every later
 * load throw. Instead imports are resolved first, depth first, and a file is only parsed when all its
 * imports loaded; otherwise it is skipped with a note.
 */
function parseProtos(sources: ProtoSources): { root: protobuf.Root; notes: string[] } {
  const root = new protobuf.Root();
  const notes: string[] = [];
  /** undefined while loading or loaded; the reason when the file could not be loaded. */
  const state = new Map<string, string | undefined>();

  const load = (rel: string): string | undefined => {
    if (state.has(rel)) return state.get(rel);
    state.set(rel, undefined);
    const failure = loadOne(rel);
    state.set(rel, failure);
    return failure;
  };

  const loadOne = (rel: string): string | undefined => {
    // protobufjs bundles any/duration/struct/... as JSON descriptors ("common" files).
    const common = protobuf.common.get(rel) as protobuf.INamespace | null;
    if (common?.nested) {
      root.addJSON(common.nested);
      return undefined;
    }
    const abs = sources.roots.map((r) => path.join(r, rel)).find((p) => existsSync(p));
    if (!abs) return `import not found: ${rel}`;
    const source = readFileSync(abs, 'utf8');
    for (const [, modifier, dep] of source.matchAll(IMPORT_RE)) {
      if (!dep) continue;
      const failure = load(dep);
      // Report the root cause (usually a missing third-party proto) rather than the chain of importers.
      if (failure && modifier?.trim() !== 'weak') return failure;
    }
    try {
      protobuf.parse(source, root, { keepCase: true });
      return undefined;
    } catch (err) {
      return `parse error: ${(err as Error).message}`;
    }
  };

  for (const entry of sources.entries) {
    const failure = load(entry);
    if (failure) notes.push(`skipped ${entry}: ${failure}`);
  }
  try {
    root.resolveAll();
  } catch (err) {
    throw new Error(`Envoy protos failed to resolve: ${(err as Error).message}`);
  }
  return { root, notes };
}

function collectTypes(ns: protobuf.NamespaceBase, schema: Schema): void {
  for (const obj of ns.nestedArray) {
    if (obj instanceof protobuf.Type) schema.messages[obj.fullName.slice(1)] = messageSchema(obj);
    else if (obj instanceof protobuf.Enum) schema.enums[obj.fullName.slice(1)] = enumSchema(obj);
    if (obj instanceof protobuf.Namespace) collectTypes(obj, schema); // Type extends Namespace: nested types
  }
}

/**
 * protobufjs exposes options two ways: `options` flattens them to keys like
 * `(validate.rules).string.min_len`, but keeps only the *last* value of a repeated option field
 * (`string = {in: "a" in: "b"}` becomes `...string.in: "b"`), so PGV rules must come from
 * `parsedOptions`: an array of `{ "(validate.rules)": { string: { in: ["a", "b"] } } }` entries,
 * where a repeated option field is a scalar when given once and an array when given more than once.
 * protobufjs already merges `[(validate.rules).uint32 = {...}, (validate.rules).message = {...}]`
 * into one entry; we still merge across entries in case an option is split some other way.
 */
function parsedOption(obj: protobuf.ReflectionObject, name: string): unknown {
  const entries = (obj.parsedOptions ?? []) as Record<string, unknown>[];
  let merged: unknown;
  for (const entry of entries) {
    if (!(name in entry)) continue;
    const value = entry[name];
    merged = isPlainObject(merged) && isPlainObject(value) ? { ...merged, ...value } : value;
  }
  return merged;
}

function messageSchema(type: protobuf.Type): MessageSchema {
  const fields = type.fieldsArray.map(fieldSchema);
  const oneofs = type.oneofsArray
    // proto3 `optional` creates a synthetic single-member oneof that is not a real choice.
    .filter((o) => !(o.fieldsArray.length === 1 && o.fieldsArray[0]?.options?.proto3_optional))
    .map((o) => ({ name: o.name, fields: o.oneof.slice(), required: parsedOption(o, '(validate.required)') === true }));
  const real = new Set(oneofs.map((o) => o.name));
  for (const f of fields) if (f.oneof && !real.has(f.oneof)) delete f.oneof;
  const schema: MessageSchema = { fields, oneofs };
  if (parsedOption(type, '(validate.disabled)') === true || parsedOption(type, '(validate.ignored)') === true) {
    schema.pgvDisabled = true;
  }
  return schema;
}

function fieldSchema(field: protobuf.Field): FieldSchema {
  const resolved = field.resolvedType;
  const out: FieldSchema = {
    name: field.name,
    // Populated by resolveAll() with protoc's algorithm (consecutive_5xx -> consecutive5xx), or json_name.
    jsonName: field.jsonName,
    type: resolved ? resolved.fullName.slice(1) : field.type,
    kind: resolved instanceof protobuf.Enum ? 'enum' : resolved ? 'message' : 'scalar',
    label: field instanceof protobuf.MapField ? 'map' : field.repeated ? 'repeated' : 'single',
  };
  if (field instanceof protobuf.MapField && isScalarType(field.keyType)) out.keyType = field.keyType;
  if (field.partOf) out.oneof = field.partOf.name;
  if (field.options?.proto3_optional) out.explicitPresence = true;
  const rules = parsedOption(field, '(validate.rules)');
  if (isPlainObject(rules)) out.rules = normalizeRules(rules);
  if (field.options?.deprecated === true) {
    const since = field.options['(envoy.annotations.deprecated_at_minor_version)'];
    out.deprecated = typeof since === 'string' ? since : true;
  }
  if (field.options?.['(envoy.annotations.disallowed_by_default)'] === true) out.disallowedByDefault = true;
  return out;
}

function enumSchema(e: protobuf.Enum): EnumSchema {
  const out: EnumSchema = { values: { ...e.values }, deprecated: [], disallowed: [] };
  for (const [name, raw] of Object.entries(e.valuesOptions ?? {})) {
    // Depending on how the value was declared this is an options object or a parsedOptions array.
    const opts: Record<string, unknown> = Array.isArray(raw) ? Object.assign({}, ...raw) : (raw ?? {});
    if (opts.deprecated === true) out.deprecated.push(name);
    if (opts['(envoy.annotations.disallowed_by_default_enum)'] === true) out.disallowed.push(name);
  }
  return out;
}

const toArray = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function normalizeRules(raw: Record<string, unknown>): FieldRules {
  const out: Record<string, unknown> = {};
  for (const [kind, value] of Object.entries(raw)) {
    if (!isPlainObject(value)) continue;
    if (kind === 'duration') out[kind] = normalizeDurationRules(value);
    else if (kind === 'repeated' && isPlainObject(value.items)) out[kind] = { ...value, items: normalizeRules(value.items) };
    else if (kind === 'map') {
      out[kind] = {
        ...value,
        ...(isPlainObject(value.keys) ? { keys: normalizeRules(value.keys) } : {}),
        ...(isPlainObject(value.values) ? { values: normalizeRules(value.values) } : {}),
      };
    } else {
      const rules: Record<string, unknown> = { ...value };
      for (const key of ['in', 'not_in']) if (key in rules) rules[key] = toArray(rules[key]);
      out[kind] = rules;
    }
  }
  return out as FieldRules;
}

function normalizeDurationRules(raw: Record<string, unknown>): DurationRules {
  const nanos = (d: unknown): string => {
    const { seconds = 0, nanos: n = 0 } = isPlainObject(d) ? (d as { seconds?: number; nanos?: number }) : {};
    return (BigInt(seconds) * 1_000_000_000n + BigInt(n)).toString();
  };
  const out: DurationRules = {};
  if (raw.required === true) out.required = true;
  for (const key of ['const', 'lt', 'lte', 'gt', 'gte'] as const) if (key in raw) out[key] = nanos(raw[key]);
  for (const key of ['in', 'not_in'] as const) if (key in raw) out[key] = toArray(raw[key]).map(nanos);
  return out;
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// Parsed values (what PGV rules are evaluated on)
// ────────────────────────────────────────────────────────────────────────────────────────────────

type Parsed =
  | { kind: 'number'; value: number | bigint }
  | { kind: 'string'; value: string }
  | { kind: 'bytes'; length: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'enum'; value: number }
  | { kind: 'duration'; nanos: bigint }
  | { kind: 'any'; typeUrl: string }
  | { kind: 'message' };

/** Either a parsed value or why the input could not be read as that type. */
type Result = { ok: true; value: Parsed } | { ok: false; error: string };
const ok = (value: Parsed): Result => ({ ok: true, value });
const fail = (error: string): Result => ({ ok: false, error });

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (isPlainObject(v)) return 'an object';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  return typeof v === 'object' ? `a ${(v as object).constructor?.name ?? 'non-JSON'} object` : typeof v;
}

const INT_RANGES: Record<string, [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n], sint32: [-(2n ** 31n), 2n ** 31n - 1n], sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n], fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n], sint64: [-(2n ** 63n), 2n ** 63n - 1n], sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n], fixed64: [0n, 2n ** 64n - 1n],
};
const FLOAT_MAX = 3.4028234663852886e38;
const BASE64_RE = /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$/;

/** proto3 JSON: integers as JSON numbers or decimal strings ("64-bit ints are strings" is only the output form). */
function parseInteger(type: string, v: unknown): Result {
  const range = INT_RANGES[type];
  if (!range) return fail(`unsupported integer type ${type}`);
  let n: bigint;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'number' && Number.isInteger(v)) n = BigInt(v);
  else if (typeof v === 'string' && /^-?\d+$/.test(v)) n = BigInt(v);
  else return fail(`expected ${type} (an integer${type.startsWith('u') || type.startsWith('fixed') ? ' >= 0' : ''}), got ${describe(v)}`);
  if (n < range[0] || n > range[1]) return fail(`${String(v)} is out of range for ${type} [${range[0]}, ${range[1]}]`);
  // 32-bit values are compared as numbers, 64-bit ones as bigints (exact beyond 2^53).
  return ok({ kind: 'number', value: type.endsWith('64') ? n : Number(n) });
}

function parseFloating(type: 'double' | 'float', v: unknown): Result {
  let n: number | undefined;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'bigint') n = Number(v);
  else if (typeof v === 'string') {
    if (v === 'NaN') n = NaN;
    else if (v === 'Infinity') n = Infinity;
    else if (v === '-Infinity') n = -Infinity;
    else if (/^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(v)) n = Number(v);
  }
  if (n === undefined) return fail(`expected ${type} (a number), got ${describe(v)}`);
  if (type === 'float' && Number.isFinite(n) && Math.abs(n) > FLOAT_MAX) return fail(`${String(v)} is out of range for float`);
  return ok({ kind: 'number', value: n });
}

function parseScalar(type: ScalarType, v: unknown): Result {
  switch (type) {
    case 'double':
    case 'float':
      return parseFloating(type, v);
    case 'bool':
      return typeof v === 'boolean' ? ok({ kind: 'bool', value: v }) : fail(`expected bool (true or false), got ${describe(v)}`);
    case 'string':
      return typeof v === 'string' ? ok({ kind: 'string', value: v }) : fail(`expected a string, got ${describe(v)}`);
    case 'bytes':
      if (typeof v !== 'string' || !BASE64_RE.test(v)) return fail(`expected base64-encoded bytes, got ${describe(v)}`);
      return ok({ kind: 'bytes', length: Buffer.from(v, 'base64').length });
    default:
      return parseInteger(type, v);
  }
}

function defaultValue(field: FieldSchema): Parsed {
  if (field.kind === 'enum') return { kind: 'enum', value: 0 };
  switch (field.type) {
    case 'string': return { kind: 'string', value: '' };
    case 'bytes': return { kind: 'bytes', length: 0 };
    case 'bool': return { kind: 'bool', value: false };
    default: return { kind: 'number', value: 0 };
  }
}

const DURATION_RE = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;
/**
 * Envoy's MessageUtil::validateDurationFields (applied to every Duration in a config, Any payloads
 * included) rejects negative durations and caps seconds so that nanoseconds fit in an int64 — much
 * tighter than protobuf's own 10000-year limit.
 */
const MAX_ENVOY_DURATION_SECONDS = 9_223_372_035n;

/** google.protobuf.Duration in JSON: seconds with up to 9 fractional digits and an "s" suffix. */
function parseDuration(v: unknown): Result {
  const m = typeof v === 'string' ? DURATION_RE.exec(v) : null;
  if (!m) {
    const hint = typeof v === 'string' && /^\d+(\.\d+)?(ms|us|ns|m|h)$/.test(v) ? ' (write e.g. "0.250s" for 250ms)' : '';
    return fail(`expected a duration string like "1.5s", got ${describe(v)}${hint}`);
  }
  if (m[1]) return fail(`duration ${String(v)} is negative; Envoy only accepts durations >= 0s`);
  const seconds = BigInt(m[2] ?? '0');
  if (seconds > MAX_ENVOY_DURATION_SECONDS) return fail(`duration ${String(v)} is out of range (Envoy's maximum is ${MAX_ENVOY_DURATION_SECONDS}s)`);
  return ok({ kind: 'duration', nanos: seconds * 1_000_000_000n + BigInt((m[3] ?? '').padEnd(9, '0')) });
}

const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

const WRAPPERS: Record<string, ScalarType> = {
  'google.protobuf.DoubleValue': 'double', 'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64', 'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32', 'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool', 'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};

/** Well-known types whose JSON form is not an object of fields; inside an Any they go under "value". */
const SPECIAL_JSON_TYPES = new Set([
  ...Object.keys(WRAPPERS),
  'google.protobuf.Duration', 'google.protobuf.Timestamp', 'google.protobuf.FieldMask',
  'google.protobuf.Struct', 'google.protobuf.Value', 'google.protobuf.ListValue', 'google.protobuf.Any',
]);

const TYPE_URL_PREFIX = 'type.googleapis.com/';
const TYPED_STRUCTS = new Set(['udpa.type.v1.TypedStruct', 'xds.type.v3.TypedStruct']);

/** Struct/Value/ListValue hold arbitrary JSON; reject what JSON cannot represent. Returns a problem or undefined. */
function nonJsonProblem(v: unknown, path: (string | number)[]): { path: (string | number)[]; what: string } | undefined {
  if (v === null || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'bigint') return undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : { path, what: `${v} is not valid JSON` };
  if (Array.isArray(v)) {
    for (const [i, item] of v.entries()) {
      const p = nonJsonProblem(item, [...path, i]);
      if (p) return p;
    }
    return undefined;
  }
  if (isPlainObject(v)) {
    for (const [k, item] of Object.entries(v)) {
      const p = nonJsonProblem(item, [...path, k]);
      if (p) return p;
    }
    return undefined;
  }
  return { path, what: `${describe(v)} is not a JSON value` };
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// protoc-gen-validate rules: pure functions from (rules, parsed value) to violation messages
// ────────────────────────────────────────────────────────────────────────────────────────────────

type Num = number | bigint;
// Mixed bigint/number relational comparisons are exact in JS; equality needs both directions.
const numEq = (a: Num, b: Num) => !(a < b) && !(a > b);
const quote = (s: string) => JSON.stringify(s);

/** Bounds shared by the numeric and duration rules (durations in nanoseconds). */
interface RangeRules { const?: Num; lt?: Num; lte?: Num; gt?: Num; gte?: Num; in?: Num[]; not_in?: Num[] }

/** PGV range semantics: when the lower bound exceeds the upper one, the value must lie *outside* the range. */
function rangeViolations(r: RangeRules, v: Num, fmt: (n: Num) => string = String): string[] {
  const out: string[] = [];
  if (r.const !== undefined && !numEq(v, r.const)) out.push(`must equal ${fmt(r.const)}, got ${fmt(v)}`);
  const lower = r.gt !== undefined ? { ok: v > r.gt, text: `> ${fmt(r.gt)}`, bound: r.gt }
    : r.gte !== undefined ? { ok: v >= r.gte, text: `>= ${fmt(r.gte)}`, bound: r.gte } : undefined;
  const upper = r.lt !== undefined ? { ok: v < r.lt, text: `< ${fmt(r.lt)}`, bound: r.lt }
    : r.lte !== undefined ? { ok: v <= r.lte, text: `<= ${fmt(r.lte)}`, bound: r.lte } : undefined;
  if (lower && upper && lower.bound > upper.bound) {
    if (!lower.ok && !upper.ok) out.push(`must be ${lower.text} or ${upper.text}, got ${fmt(v)}`);
  } else {
    if (lower && !lower.ok) out.push(`must be ${lower.text}, got ${fmt(v)}`);
    if (upper && !upper.ok) out.push(`must be ${upper.text}, got ${fmt(v)}`);
  }
  if (r.in?.length && !r.in.some((x) => numEq(v, x))) out.push(`must be one of [${r.in.map(fmt).join(', ')}], got ${fmt(v)}`);
  if (r.not_in?.some((x) => numEq(v, x))) out.push(`must not be ${fmt(v)}`);
  return out;
}

function numericViolations(r: NumericRules, v: Num): string[] {
  return r.ignore_empty && numEq(v, 0) ? [] : rangeViolations(r, v);
}

// From protoc-gen-validate's validate.proto (KnownRegex); `strict: false` only forbids NUL, CR and LF.
const HEADER_NAME_RE = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/;
const HEADER_VALUE_RE = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
const HEADER_LENIENT_RE = /^[^\u0000\u000A\u000D]*$/;
const HOSTNAME_RE = /^(?=.{1,253}\.?$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(?:\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$/;
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * PGV `pattern` is RE2 (unanchored match, code points). The few Envoy patterns are valid JS too; one
 * that JS cannot compile (RE2-only syntax such as `(?i)` mid-pattern) is not enforced rather than guessed.
 */
const patternCache = new Map<string, RegExp | null>();
function compilePattern(pattern: string): RegExp | null {
  if (!patternCache.has(pattern)) patternCache.set(pattern, tryRegExp(pattern, 'u') ?? tryRegExp(pattern, ''));
  return patternCache.get(pattern) ?? null;
}

function tryRegExp(pattern: string, flags: string): RegExp | null {
  try {
    return new RegExp(pattern, flags);
  } catch {
    return null;
  }
}

function wellKnownViolation(r: StringRules, s: string): string | undefined {
  const strict = r.strict !== false;
  if (r.well_known_regex === 'HTTP_HEADER_NAME' && !(strict ? HEADER_NAME_RE : HEADER_LENIENT_RE).test(s)) return `must be a valid HTTP header name, got ${quote(s)}`;
  if (r.well_known_regex === 'HTTP_HEADER_VALUE' && !(strict ? HEADER_VALUE_RE : HEADER_LENIENT_RE).test(s)) return `must be a valid HTTP header value, got ${quote(s)}`;
  if (r.ip && !isIP(s)) return `must be an IP address, got ${quote(s)}`;
  if (r.ipv4 && isIP(s) !== 4) return `must be an IPv4 address, got ${quote(s)}`;
  if (r.ipv6 && isIP(s) !== 6) return `must be an IPv6 address, got ${quote(s)}`;
  if (r.hostname && !HOSTNAME_RE.test(s)) return `must be a hostname, got ${quote(s)}`;
  if (r.address && !isIP(s) && !HOSTNAME_RE.test(s)) return `must be an IP address or hostname, got ${quote(s)}`;
  if (r.uuid && !UUID_RE.test(s)) return `must be a UUID, got ${quote(s)}`;
  // email/uri/uri_ref are not enforced (no Envoy config field uses them in a way worth the false positives).
  return undefined;
}

function stringViolations(r: StringRules, s: string): string[] {
  if (r.ignore_empty && s === '') return [];
  const out: string[] = [];
  const chars = [...s].length; // PGV counts code points, not UTF-16 units
  const bytes = Buffer.byteLength(s, 'utf8');
  const shown = quote(s.length > 60 ? `${s.slice(0, 60)}…` : s);
  if (r.const !== undefined && s !== r.const) out.push(`must equal ${quote(r.const)}, got ${shown}`);
  if (r.len !== undefined && chars !== r.len) out.push(`must be exactly ${r.len} characters long, got ${chars}`);
  if (r.min_len !== undefined && chars < r.min_len) out.push(s === '' ? `must not be empty (min length ${r.min_len})` : `must be at least ${r.min_len} characters long, got ${shown}`);
  if (r.max_len !== undefined && chars > r.max_len) out.push(`must be at most ${r.max_len} characters long, got ${chars}`);
  if (r.len_bytes !== undefined && bytes !== r.len_bytes) out.push(`must be exactly ${r.len_bytes} bytes long, got ${bytes}`);
  if (r.min_bytes !== undefined && bytes < r.min_bytes) out.push(s === '' ? `must not be empty (min ${r.min_bytes} bytes)` : `must be at least ${r.min_bytes} bytes long, got ${bytes}`);
  if (r.max_bytes !== undefined && bytes > r.max_bytes) out.push(`must be at most ${r.max_bytes} bytes long, got ${bytes}`);
  if (r.prefix !== undefined && !s.startsWith(r.prefix)) out.push(`must start with ${quote(r.prefix)}, got ${shown}`);
  if (r.suffix !== undefined && !s.endsWith(r.suffix)) out.push(`must end with ${quote(r.suffix)}, got ${shown}`);
  if (r.contains !== undefined && !s.includes(r.contains)) out.push(`must contain ${quote(r.contains)}, got ${shown}`);
  if (r.not_contains !== undefined && s.includes(r.not_contains)) out.push(`must not contain ${quote(r.not_contains)}`);
  if (r.in?.length && !r.in.includes(s)) out.push(`must be one of ${r.in.map(quote).join(', ')}, got ${shown}`);
  if (r.not_in?.includes(s)) out.push(`must not be ${shown}`);
  const re = r.pattern === undefined ? null : compilePattern(r.pattern);
  if (re && !re.test(s)) out.push(`must match /${r.pattern}/, got ${shown}`);
  const wk = wellKnownViolation(r, s);
  if (wk) out.push(wk);
  return out;
}

function bytesViolations(r: BytesRules, length: number): string[] {
  if (r.ignore_empty && length === 0) return [];
  const out: string[] = [];
  if (r.len !== undefined && length !== r.len) out.push(`must be exactly ${r.len} bytes, got ${length}`);
  if (r.min_len !== undefined && length < r.min_len) out.push(`must be at least ${r.min_len} bytes, got ${length}`);
  if (r.max_len !== undefined && length > r.max_len) out.push(`must be at most ${r.max_len} bytes, got ${length}`);
  return out;
}

function enumViolations(r: EnumRules, v: number, e: EnumSchema | undefined): string[] {
  const out: string[] = [];
  const name = (n: number) => Object.entries(e?.values ?? {}).find(([, x]) => x === n)?.[0] ?? String(n);
  if (r.const !== undefined && v !== r.const) out.push(`must be ${name(r.const)}, got ${name(v)}`);
  if (r.defined_only && e && !Object.values(e.values).includes(v)) out.push(`${v} is not a defined enum value`);
  if (r.in?.length && !r.in.includes(v)) out.push(`must be one of ${r.in.map(name).join(', ')}, got ${name(v)}`);
  if (r.not_in?.includes(v)) out.push(`must not be ${name(v)}`);
  return out;
}

function formatNanos(n: bigint): string {
  const neg = n < 0n;
  const abs = neg ? -n : n;
  const frac = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${abs / 1_000_000_000n}${frac ? `.${frac}` : ''}s`;
}

function durationViolations(r: DurationRules, nanos: bigint): string[] {
  const big = (x: string | undefined) => (x === undefined ? undefined : BigInt(x));
  const bounds: RangeRules = {
    const: big(r.const), lt: big(r.lt), lte: big(r.lte), gt: big(r.gt), gte: big(r.gte),
    in: r.in?.map(BigInt), not_in: r.not_in?.map(BigInt),
  };
  return rangeViolations(bounds, nanos, (n) => formatNanos(BigInt(n)));
}

/** Rules that apply to one (already parsed) value. Presence (`required`) and repeated/map rules are handled by the caller. */
function valueViolations(rules: FieldRules, v: Parsed, enums: Record<string, EnumSchema>, enumType?: string): string[] {
  switch (v.kind) {
    case 'number': {
      const kind = NUMERIC_RULE_KINDS.find((k) => rules[k]);
      const r = kind ? rules[kind] : undefined;
      return r ? numericViolations(r, v.value) : [];
    }
    case 'string':
      return rules.string ? stringViolations(rules.string, v.value) : [];
    case 'bytes':
      return rules.bytes ? bytesViolations(rules.bytes, v.length) : [];
    case 'bool':
      return rules.bool?.const !== undefined && rules.bool.const !== v.value ? [`must be ${rules.bool.const}`] : [];
    case 'enum':
      return rules.enum ? enumViolations(rules.enum, v.value, enumType ? enums[enumType] : undefined) : [];
    case 'duration':
      return rules.duration ? durationViolations(rules.duration, v.nanos) : [];
    case 'any': {
      const r = rules.any;
      const out: string[] = [];
      if (r?.in?.length && !r.in.includes(v.typeUrl)) out.push(`@type must be one of ${r.in.join(', ')}, got ${v.typeUrl}`);
      if (r?.not_in?.includes(v.typeUrl)) out.push(`@type must not be ${v.typeUrl}`);
      return out;
    }
    default:
      return [];
  }
}

/** message.required / duration.required / any.required / timestamp.required. */
const isRequired = (r: FieldRules | undefined) =>
  Boolean(r?.message?.required || r?.duration?.required || r?.any?.required || r?.timestamp?.required);

// ────────────────────────────────────────────────────────────────────────────────────────────────
// The walker: proto3 JSON mapping + PGV, collecting issues with input paths
// ────────────────────────────────────────────────────────────────────────────────────────────────

type Path = (string | number)[];


function suggestField(key: string, msg: MessageSchema): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const f of msg.fields) {
    for (const candidate of [f.name, f.jsonName]) {
      const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
      if (d <= Math.max(2, Math.floor(candidate.length / 4)) && (!best || d < best.d)) best = { name: f.name, d };
    }
  }
  return best?.name;
}

/**
 * The enum value name for a JSON enum value. Envoy parses with protobuf's `case_insensitive_enum_parsing`,
 * which retries an unknown name upper-cased ("strict_dns" is STRICT_DNS). Numbers must be defined values.
 */
function enumName(e: EnumSchema, value: unknown): string | undefined {
  if (typeof value === 'string') {
    if (Object.hasOwn(e.values, value)) return value;
    const upper = value.toUpperCase();
    return Object.hasOwn(e.values, upper) ? upper : undefined;
  }
  if (typeof value === 'number') return Object.entries(e.values).find(([, n]) => n === value)?.[0];
  return undefined;
}

/**
 * Envoy only looks at fields that are "set"; a proto3 scalar without presence holding its default
 * (false, 0, "") is not, so e.g. `deprecated_flag: false` is not reported as deprecated use.
 */
function isUnsetScalar(field: FieldSchema, value: unknown): boolean {
  // Enums are excluded: Envoy warns about a deprecated enum *value* even when it is the default.
  if (field.label !== 'single' || field.kind !== 'scalar' || field.explicitPresence) return false;
  switch (field.type) {
    case 'string':
    case 'bytes':
      return value === '';
    case 'bool':
      return value === false;
    default:
      return value === 0 || value === '0' || value === 0n;
  }
}

/** Field lookup by proto name or JSON name, per message type; shared by all validations. */
type FieldIndex = Map<string, Map<string, FieldSchema>>;

class Walker {
  readonly issues: ConfigIssue[] = [];

  constructor(
    private readonly schema: Schema,
    private readonly fieldIndex: FieldIndex,
  ) {}

  private report(path: Path, message: string): void {
    this.issues.push({ path: [...path], message });
  }

  private fieldsByKey(typeName: string, msg: MessageSchema): Map<string, FieldSchema> {
    let index = this.fieldIndex.get(typeName);
    if (!index) {
      index = new Map();
      for (const f of msg.fields) index.set(f.name, f).set(f.jsonName, f);
      this.fieldIndex.set(typeName, index);
    }
    return index;
  }

  /** Validates `value` as message `typeName`; returns what PGV rules on the enclosing field need. */
  message(typeName: string, value: unknown, path: Path, pgv: boolean): Parsed | undefined {
    const special = this.wellKnown(typeName, value, path, pgv);
    if (special !== null) return special;
    const msg = this.schema.messages[typeName];
    if (!msg) {
      this.report(path, `unknown message type ${typeName}`);
      return undefined;
    }
    if (!isPlainObject(value)) {
      this.report(path, `expected an object (${typeName}), got ${describe(value)}`);
      return undefined;
    }
    this.fields(typeName, msg, value, path, pgv && !msg.pgvDisabled);
    if (TYPED_STRUCTS.has(typeName)) this.typedStructPayload(value, path, pgv);
    return { kind: 'message' };
  }

  private fields(typeName: string, msg: MessageSchema, obj: Record<string, unknown>, path: Path, pgv: boolean): void {
    const index = this.fieldsByKey(typeName, msg);
    const present = new Map<FieldSchema, string>();
    for (const [key, value] of Object.entries(obj)) {
      const field = index.get(key);
      if (!field) {
        const hint = suggestField(key, msg);
        this.report([...path, key], `unknown field "${key}" in ${typeName}${hint ? ` (did you mean "${hint}"?)` : ''}`);
        continue;
      }
      const earlier = present.get(field);
      if (earlier !== undefined) {
        this.report([...path, key], `field "${field.name}" is given twice (as "${earlier}" and "${key}")`);
        continue;
      }
      // proto3 JSON: null means "not set" (except for google.protobuf.Value, where it is a value).
      if (value === null && field.type !== 'google.protobuf.Value') continue;
      present.set(field, key);
      if (!isUnsetScalar(field, value)) this.annotations(typeName, field, [...path, key]);
      this.field(field, value, [...path, key], pgv);
    }
    this.oneofs(typeName, msg, present, path, pgv);
    if (pgv) this.absentFields(msg, present, path);
  }

  private annotations(typeName: string, field: FieldSchema, path: Path): void {
    if (field.disallowedByDefault) {
      this.report(path, `field "${field.name}" of ${typeName} is deprecated and disallowed by default (Envoy rejects it unless the runtime flag envoy.deprecated_features:${typeName}.${field.name} is set)`);
    } else if (field.deprecated) {
      const since = field.deprecated === true ? '' : ` since API ${field.deprecated}`;
      this.report(path, `${DEPRECATED_PREFIX} field "${field.name}" of ${typeName} is deprecated${since}`);
    }
  }

  private oneofs(typeName: string, msg: MessageSchema, present: Map<FieldSchema, string>, path: Path, pgv: boolean): void {
    for (const oneof of msg.oneofs) {
      const set = [...present].filter(([f]) => f.oneof === oneof.name);
      const [first, ...rest] = set;
      for (const [, key] of rest) {
        this.report([...path, key], `"${key}" conflicts with "${first?.[1]}": both belong to oneof "${oneof.name}" of ${typeName}, set only one`);
      }
      if (pgv && oneof.required && set.length === 0) {
        this.report(path, `one of ${oneof.fields.map((f) => `"${f}"`).join(', ')} is required (oneof "${oneof.name}" of ${typeName})`);
      }
    }
  }

  /**
   * PGV validates proto3 scalars even when unset (an unset string is ""), which is how `min_len: 1`
   * makes a field mandatory. The issue is reported on the enclosing object, since the key does not exist.
   */
  private absentFields(msg: MessageSchema, present: Map<FieldSchema, string>, path: Path): void {
    for (const field of msg.fields) {
      if (present.has(field) || field.oneof || !field.rules) continue;
      const missing = (text: string) => this.report(path, `missing field "${field.name}": ${text}`);
      if (field.label === 'repeated') {
        const r = field.rules.repeated;
        if (r?.min_items && !r.ignore_empty) missing(`at least ${r.min_items} item(s) required`);
      } else if (field.label === 'map') {
        const r = field.rules.map;
        if (r?.min_pairs && !r.ignore_empty) missing(`at least ${r.min_pairs} entr${r.min_pairs === 1 ? 'y' : 'ies'} required`);
      } else if (field.kind === 'message') {
        if (isRequired(field.rules)) missing('value is required');
      } else if (!field.explicitPresence) {
        for (const v of valueViolations(field.rules, defaultValue(field), this.schema.enums, field.type)) missing(v);
      }
    }
  }

  private field(field: FieldSchema, value: unknown, path: Path, pgv: boolean): void {
    const rules = pgv ? field.rules : undefined;
    if (field.label === 'repeated') this.repeated(field, value, path, pgv, rules);
    else if (field.label === 'map') this.map(field, value, path, pgv, rules);
    else this.single(field.kind, field.type, value, path, pgv, rules);
  }

  private repeated(field: FieldSchema, value: unknown, path: Path, pgv: boolean, rules: FieldRules | undefined): void {
    if (!Array.isArray(value)) {
      this.report(path, `expected a list (repeated ${field.type}), got ${describe(value)}`);
      return;
    }
    const r = rules?.repeated;
    if (r && !(r.ignore_empty && value.length === 0)) {
      if (r.min_items !== undefined && value.length < r.min_items) this.report(path, `must have at least ${r.min_items} item(s), got ${value.length}`);
      if (r.max_items !== undefined && value.length > r.max_items) this.report(path, `must have at most ${r.max_items} item(s), got ${value.length}`);
      if (r.unique && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) this.report(path, 'items must be unique');
    }
    value.forEach((item, i) => {
      if (item === null && field.type !== 'google.protobuf.Value') this.report([...path, i], 'null is not allowed in a list');
      else this.single(field.kind, field.type, item, [...path, i], pgv, r?.items);
    });
  }

  private map(field: FieldSchema, value: unknown, path: Path, pgv: boolean, rules: FieldRules | undefined): void {
    if (!isPlainObject(value)) {
      this.report(path, `expected an object (map<${field.keyType}, ${field.type}>), got ${describe(value)}`);
      return;
    }
    const entries = Object.entries(value);
    const r = rules?.map;
    if (r && !(r.ignore_empty && entries.length === 0)) {
      if (r.min_pairs !== undefined && entries.length < r.min_pairs) this.report(path, `must have at least ${r.min_pairs} entr${r.min_pairs === 1 ? 'y' : 'ies'}, got ${entries.length}`);
      if (r.max_pairs !== undefined && entries.length > r.max_pairs) this.report(path, `must have at most ${r.max_pairs} entries, got ${entries.length}`);
    }
    for (const [key, item] of entries) {
      // JSON map keys are always strings; bool and integer keys are spelled as their JSON literals.
      const keyType = field.keyType ?? 'string';
      const keyValue = keyType === 'bool' ? (key === 'true' ? true : key === 'false' ? false : key) : key;
      this.single('scalar', keyType, keyValue, [...path, key], pgv, r?.keys, 'map key ');
      if (item === null && field.type !== 'google.protobuf.Value') this.report([...path, key], 'null is not allowed as a map value');
      else this.single(field.kind, field.type, item, [...path, key], pgv, r?.values);
    }
  }

  /** One non-repeated value (a field, a list item or a map key/value), then the PGV rules on it. */
  private single(kind: FieldSchema['kind'], type: string, value: unknown, path: Path, pgv: boolean, rules: FieldRules | undefined, what = ''): void {
    let parsed: Parsed | undefined;
    if (kind === 'message') {
      parsed = this.message(type, value, path, pgv && !rules?.message?.skip);
    } else {
      const result = kind === 'enum' ? this.enumValue(type, value, path) : isScalarType(type) ? parseScalar(type, value) : fail(`unknown scalar type ${type}`);
      if (!result.ok) {
        this.report(path, what + result.error);
        return;
      }
      parsed = result.value;
    }
    if (rules && parsed) for (const v of valueViolations(rules, parsed, this.schema.enums, type)) this.report(path, what + v);
  }

  private enumValue(type: string, value: unknown, path: Path): Result {
    const e = this.schema.enums[type];
    if (!e) return fail(`unknown enum type ${type}`);
    const name = enumName(e, value);
    if (name === undefined) {
      const names = Object.keys(e.values);
      const shown = names.length > 12 ? `${names.slice(0, 12).join(', ')}, …` : names.join(', ');
      return fail(`invalid value ${describe(value)} for enum ${type} (expected one of ${shown})`);
    }
    if (e.disallowed.includes(name)) {
      this.report(path, `enum value ${name} of ${type} is deprecated and disallowed by default (Envoy rejects it unless the runtime flag envoy.deprecated_features:${type}.${name} is set)`);
    } else if (e.deprecated.includes(name)) {
      this.report(path, `${DEPRECATED_PREFIX} enum value ${name} of ${type} is deprecated`);
    }
    return ok({ kind: 'enum', value: e.values[name] ?? 0 });
  }

  /** Well-known types with a special JSON form; null when `typeName` is an ordinary message. */
  private wellKnown(typeName: string, value: unknown, path: Path, pgv: boolean): Parsed | undefined | null {
    const wrapped = WRAPPERS[typeName];
    if (wrapped) return this.check(parseScalar(wrapped, value), path);
    switch (typeName) {
      case 'google.protobuf.Duration':
        return this.check(parseDuration(value), path);
      case 'google.protobuf.Timestamp':
        return this.check(typeof value === 'string' && TIMESTAMP_RE.test(value) ? ok({ kind: 'message' }) : fail(`expected an RFC 3339 timestamp string, got ${describe(value)}`), path);
      case 'google.protobuf.FieldMask':
        return this.check(typeof value === 'string' ? ok({ kind: 'message' }) : fail(`expected a field mask string like "a.b,c", got ${describe(value)}`), path);
      case 'google.protobuf.Struct':
        return this.json(value, path, isPlainObject(value) ? undefined : `expected an object (google.protobuf.Struct), got ${describe(value)}`);
      case 'google.protobuf.ListValue':
        return this.json(value, path, Array.isArray(value) ? undefined : `expected a list (google.protobuf.ListValue), got ${describe(value)}`);
      case 'google.protobuf.Value':
        return this.json(value, path, undefined);
      case 'google.protobuf.Any':
        return this.any(value, path, pgv);
      default:
        return null;
    }
  }

  private check(result: Result, path: Path): Parsed | undefined {
    if (result.ok) return result.value;
    this.report(path, result.error);
    return undefined;
  }

  private json(value: unknown, path: Path, shapeError: string | undefined): Parsed | undefined {
    if (shapeError) {
      this.report(path, shapeError);
      return undefined;
    }
    const problem = nonJsonProblem(value, path);
    if (problem) this.report(problem.path, problem.what);
    return { kind: 'message' };
  }

  /**
   * google.protobuf.Any: {"@type": "type.googleapis.com/<type>", ...fields of <type>}, or for types with
   * a special JSON form {"@type": ..., "value": <that form>}. The payload is validated recursively, so a
   * typo inside a filter's typed_config is caught like any other.
   */
  private any(value: unknown, path: Path, pgv: boolean): Parsed | undefined {
    if (!isPlainObject(value)) {
      this.report(path, `expected an object with "@type" (google.protobuf.Any), got ${describe(value)}`);
      return undefined;
    }
    const { '@type': typeUrl, ...payload } = value;
    if (typeUrl === undefined) {
      // {} is a valid (empty) Any; anything else without a type cannot be interpreted.
      if (Object.keys(payload).length > 0) this.report(path, 'missing "@type" (google.protobuf.Any needs "@type": "type.googleapis.com/<message type>")');
      return { kind: 'any', typeUrl: '' };
    }
    const urlPath = [...path, '@type'];
    if (typeof typeUrl !== 'string' || !typeUrl.startsWith(TYPE_URL_PREFIX)) {
      this.report(urlPath, `"@type" must be "${TYPE_URL_PREFIX}<message type>", got ${describe(typeUrl)}`);
      return undefined;
    }
    const typeName = typeUrl.slice(TYPE_URL_PREFIX.length);
    if (!this.schema.messages[typeName]) {
      this.report(urlPath, `unknown @type ${typeName}: not a message type in the loaded Envoy/xDS protos`);
      return undefined;
    }
    if (SPECIAL_JSON_TYPES.has(typeName)) {
      for (const key of Object.keys(payload)) if (key !== 'value') this.report([...path, key], `unknown field "${key}" in Any of ${typeName} (only "value" is allowed)`);
      if (!('value' in payload)) this.report(path, `missing "value" for Any of ${typeName}`);
      else this.message(typeName, payload.value, [...path, 'value'], pgv);
    } else {
      this.message(typeName, payload, path, pgv);
    }
    return { kind: 'any', typeUrl };
  }

  /** TypedStruct carries an extension config as a Struct plus type_url; check it when the type is known. */
  private typedStructPayload(obj: Record<string, unknown>, path: Path, pgv: boolean): void {
    const typeUrl = obj.type_url ?? obj.typeUrl;
    if (typeof typeUrl !== 'string') return;
    // Like Envoy, take the type name after the last "/" whatever the URL prefix.
    const typeName = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
    // Unknown types are typically third-party (e.g. Wasm) extensions: nothing to check against.
    if (!this.schema.messages[typeName] || SPECIAL_JSON_TYPES.has(typeName)) return;
    if (isPlainObject(obj.value)) this.message(typeName, obj.value, [...path, 'value'], pgv);
  }
}

/** For tests only: the schema as loaded (possibly from the disk cache) and as freshly parsed. */
export const schemaForTests = {
  cached: (): unknown => loadSchema(),
  fresh: (): unknown => buildSchema(locateProtoSources()),
};

function createValidator(schema: Schema): EnvoyValidator {
  const fieldIndex: FieldIndex = new Map();
  const validate = (typeName: string, value: unknown): ConfigIssue[] => {
    if (!schema.messages[typeName]) throw new Error(`Unknown Envoy message type: ${typeName}`);
    const walker = new Walker(schema, fieldIndex);
    walker.message(typeName, value, [], true);
    return walker.issues;
  };
  return {
    validate,
    validateBootstrap: (value) => validate(BOOTSTRAP_TYPE, value),
    notes: schema.notes,
  };
}

/**
 * CustomResourceDefinitions (apiextensions.k8s.io/v1) in full, and custom resources checked against them.
 *
 * The kubernetes-models schema of a CRD does not list the OpenAPI extension fields the API server accepts in
 * `openAPIV3Schema` (`description`, `x-kubernetes-*`, `externalDocs`, ...) or a printer column's `description`;
 * so the fields of those parts are checked here, against the Go types of k8s.io/apiextensions-apiserver
 * (JSONSchemaProps, ValidationRule, CustomResourceColumnDefinition, SelectableField).
 *
 * A custom resource whose CRD is among the linted files is validated with ajv against that version's
 * openAPIV3Schema, read as the API server reads it: `nullable`, `x-kubernetes-int-or-string`, and unknown
 * fields (which `kubectl apply` rejects under its default strict field validation) except where
 * `x-kubernetes-preserve-unknown-fields` keeps them.
 */
import { createRequire } from 'node:module';
import type { ErrorObject, Options, ValidateFunction } from 'ajv';
import { formatPath, type ConfigIssue } from './issue.js';

type Path = (string | number)[];
type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const issue = (path: Path, text: string): ConfigIssue => ({ path, message: `${formatPath(path)}: ${text}` });

/** JSONSchemaProps' JSON field names (apiextensions/v1 types_jsonschema.go). */
const SCHEMA_FIELDS = new Set([
  'id', '$schema', '$ref', 'description', 'type', 'format', 'title', 'default', 'maximum', 'exclusiveMaximum', 'minimum',
  'exclusiveMinimum', 'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems', 'multipleOf', 'enum',
  'maxProperties', 'minProperties', 'required', 'items', 'allOf', 'oneOf', 'anyOf', 'not', 'properties',
  'additionalProperties', 'patternProperties', 'dependencies', 'additionalItems', 'definitions', 'externalDocs', 'example',
  'nullable', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource', 'x-kubernetes-int-or-string',
  'x-kubernetes-list-map-keys', 'x-kubernetes-list-type', 'x-kubernetes-map-type', 'x-kubernetes-validations',
]);
const VALIDATION_RULE_FIELDS = ['rule', 'message', 'messageExpression', 'reason', 'fieldPath', 'optionalOldSelf'];
const EXTERNAL_DOCS_FIELDS = ['description', 'url'];
export const PRINTER_COLUMN_FIELDS = ['name', 'type', 'format', 'description', 'priority', 'jsonPath'];
export const SELECTABLE_FIELD_FIELDS = ['jsonPath'];

function unknownFields(value: Json, known: Iterable<string>, path: Path): ConfigIssue[] {
  const set = new Set(known);
  return Object.keys(value).filter((k) => !set.has(k)).map((k) => issue([...path, k], `unknown field "${k}"`));
}

/** The fields of an openAPIV3Schema, every level down (the recursion is JSONSchemaProps' own). */
export function schemaFieldIssues(schema: unknown, path: Path): ConfigIssue[] {
  if (!isObject(schema)) return [];
  const out = unknownFields(schema, SCHEMA_FIELDS, path);
  const props = (value: unknown, at: Path) => out.push(...schemaFieldIssues(value, at));
  for (const key of ['properties', 'patternProperties', 'definitions', 'dependencies']) {
    const map = schema[key];
    if (isObject(map)) for (const [name, child] of Object.entries(map)) if (!Array.isArray(child)) props(child, [...path, key, name]);
  }
  for (const key of ['allOf', 'oneOf', 'anyOf']) {
    const list = schema[key];
    if (Array.isArray(list)) list.forEach((child, i) => props(child, [...path, key, i]));
  }
  for (const key of ['not', 'additionalProperties', 'additionalItems']) props(schema[key], [...path, key]);
  const items = schema.items;
  if (Array.isArray(items)) items.forEach((child, i) => props(child, [...path, 'items', i]));
  else props(items, [...path, 'items']);
  const rules = schema['x-kubernetes-validations'];
  if (Array.isArray(rules)) rules.forEach((r, i) => isObject(r) && out.push(...unknownFields(r, VALIDATION_RULE_FIELDS, [...path, 'x-kubernetes-validations', i])));
  if (isObject(schema.externalDocs)) out.push(...unknownFields(schema.externalDocs, EXTERNAL_DOCS_FIELDS, [...path, 'externalDocs']));
  return out;
}

/** True for a path the generic unknown-field check must leave to this module. */
export function isCrdExtensionPath(path: Path): boolean {
  const i = path.indexOf('versions');
  if (path[0] !== 'spec' || i !== 1) return false;
  const rest = path.slice(3);
  return (rest[0] === 'schema' && rest[1] === 'openAPIV3Schema') || rest[0] === 'additionalPrinterColumns' || rest[0] === 'selectableFields';
}

/** A CRD's own field checks (the parts kubernetes-models' schema does not know). */
export function crdIssues(crd: Json, base: Path): ConfigIssue[] {
  const spec = crd.spec;
  const versions = isObject(spec) && Array.isArray(spec.versions) ? spec.versions : [];
  const out: ConfigIssue[] = [];
  versions.forEach((v, i) => {
    if (!isObject(v)) return;
    const at: Path = [...base, 'spec', 'versions', i];
    if (isObject(v.schema)) out.push(...schemaFieldIssues(v.schema.openAPIV3Schema, [...at, 'schema', 'openAPIV3Schema']));
    if (Array.isArray(v.additionalPrinterColumns)) v.additionalPrinterColumns.forEach((c, j) => isObject(c) && out.push(...unknownFields(c, PRINTER_COLUMN_FIELDS, [...at, 'additionalPrinterColumns', j])));
    if (Array.isArray(v.selectableFields)) v.selectableFields.forEach((c, j) => isObject(c) && out.push(...unknownFields(c, SELECTABLE_FIELD_FIELDS, [...at, 'selectableFields', j])));
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Custom resources against the CRDs found in the input.
// ---------------------------------------------------------------------------------------------------------------

/** One OpenAPI v3 structural schema as a JSON Schema ajv checks (unknown fields are looked for separately). */
function toJsonSchema(schema: unknown): unknown {
  if (!isObject(schema)) return {};
  const out: Json = {};
  const copy = ['enum', 'maximum', 'minimum', 'exclusiveMaximum', 'exclusiveMinimum', 'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems', 'multipleOf', 'maxProperties', 'minProperties', 'required'];
  for (const key of copy) if (schema[key] !== undefined) out[key] = schema[key];
  // OpenAPI v3.0 booleans for exclusive bounds: JSON Schema (draft 7) wants the bound itself.
  if (schema.exclusiveMaximum === true) Object.assign(out, { exclusiveMaximum: schema.maximum, maximum: undefined });
  if (schema.exclusiveMinimum === true) Object.assign(out, { exclusiveMinimum: schema.minimum, minimum: undefined });
  if (schema.exclusiveMaximum === false) delete out.exclusiveMaximum;
  if (schema.exclusiveMinimum === false) delete out.exclusiveMinimum;
  if (schema['x-kubernetes-int-or-string'] === true) out.type = ['integer', 'string'];
  else if (typeof schema.type === 'string') out.type = schema.nullable === true ? [schema.type, 'null'] : schema.type;
  if (schema.nullable === true && Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
  if (isObject(schema.properties)) out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, toJsonSchema(v)]));
  if (isObject(schema.additionalProperties)) out.additionalProperties = toJsonSchema(schema.additionalProperties);
  if (isObject(schema.items)) out.items = toJsonSchema(schema.items);
  for (const key of ['allOf', 'oneOf', 'anyOf']) if (Array.isArray(schema[key])) out[key] = (schema[key] as unknown[]).map(toJsonSchema);
  if (isObject(schema.not)) out.not = toJsonSchema(schema.not);
  // The int-or-string anyOf of controller-gen repeats what the type says.
  if (schema['x-kubernetes-int-or-string'] === true) delete out.anyOf;
  return out;
}

/** Fields the schema does not declare, where it does not preserve unknown fields. */
function unknownCrFields(value: unknown, schema: unknown, path: Path): ConfigIssue[] {
  if (!isObject(schema) || schema['x-kubernetes-preserve-unknown-fields'] === true) return [];
  if (Array.isArray(value)) return value.flatMap((item, i) => unknownCrFields(item, schema.items, [...path, i]));
  if (!isObject(value)) return [];
  const props = isObject(schema.properties) ? schema.properties : undefined;
  const additional = schema.additionalProperties;
  if (schema['x-kubernetes-embedded-resource'] === true && !props) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    if (props && key in props) return unknownCrFields(child, props[key], [...path, key]);
    if (isObject(additional)) return unknownCrFields(child, additional, [...path, key]);
    if (additional === true) return [];
    if (!props && (isObject(schema.anyOf) || Array.isArray(schema.anyOf) || Array.isArray(schema.oneOf) || Array.isArray(schema.allOf))) return [];
    return [issue([...path, key], `unknown field "${key}"` + (props ? ` (known: ${Object.keys(props).join(', ')})` : ''))];
  });
}

interface Served {
  crd: string;
  schema: unknown;
  validate: ValidateFunction;
  served: boolean;
}

// ajv's CommonJS build, as kubernetes.ts loads the models (its ESM typing has no construct signature under NodeNext).
const Ajv = (createRequire(import.meta.url)('ajv') as { default: new (options: Options) => { compile(schema: unknown): ValidateFunction } }).default;

/** The CRDs of the input, by group and kind, and their versions' compiled schemas. */
export class CrdCatalog {
  private readonly kinds = new Map<string, { crd: string; versions: Map<string, Served | undefined> }>();
  private readonly ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });

  add(crd: unknown): void {
    if (!isObject(crd) || !isObject(crd.spec) || !isObject(crd.spec.names)) return;
    const { group, names, versions } = crd.spec as { group?: unknown; names: Json; versions?: unknown };
    if (typeof group !== 'string' || typeof names.kind !== 'string' || !Array.isArray(versions)) return;
    const name = isObject(crd.metadata) && typeof crd.metadata.name === 'string' ? crd.metadata.name : `${String(names.plural)}.${group}`;
    const entry = { crd: name, versions: new Map<string, Served | undefined>() };
    for (const v of versions) {
      if (!isObject(v) || typeof v.name !== 'string') continue;
      const schema = isObject(v.schema) ? v.schema.openAPIV3Schema : undefined;
      let validate: ValidateFunction | undefined;
      try {
        validate = this.ajv.compile(withoutObjectMeta(toJsonSchema(schema)));
      } catch {
        validate = undefined; // a schema ajv cannot compile is the CRD's own finding, not its resources'
      }
      entry.versions.set(v.name, validate ? { crd: name, schema, validate, served: v.served !== false } : undefined);
    }
    this.kinds.set(`${group}/${names.kind}`, entry);
  }

  /** Issues of a custom resource, or undefined when no CRD of the input defines its kind. */
  validate(obj: Json, schemaIssues: (errors: ErrorObject[], obj: Json) => ConfigIssue[]): ConfigIssue[] | undefined {
    const [group, version] = String(obj.apiVersion).includes('/') ? String(obj.apiVersion).split('/') : ['', String(obj.apiVersion)];
    const entry = this.kinds.get(`${group}/${String(obj.kind)}`);
    if (!entry) return undefined;
    if (!entry.versions.has(version!)) {
      return [issue(['apiVersion'], `CRD ${entry.crd} has no version "${version}" (it has ${[...entry.versions.keys()].join(', ')})`)];
    }
    const served = entry.versions.get(version!);
    if (!served) return [];
    if (!served.served) return [issue(['apiVersion'], `version "${version}" of CRD ${entry.crd} is not served`)];
    const issues = served.validate(obj) ? [] : schemaIssues(served.validate.errors ?? [], obj);
    const spec = { ...obj };
    delete spec.apiVersion;
    delete spec.kind;
    delete spec.metadata;
    const schema = isObject(served.schema) ? { ...served.schema, properties: { ...(isObject(served.schema.properties) ? served.schema.properties : {}) } } : served.schema;
    return [...issues, ...unknownCrFields(spec, schema, [])];
  }
}

/** metadata is ObjectMeta whatever the CRD says (the API server checks it as for every kind). */
function withoutObjectMeta(schema: unknown): unknown {
  if (!isObject(schema) || !isObject(schema.properties)) return schema;
  const properties = { ...schema.properties };
  delete properties.metadata;
  return { ...schema, properties };
}

/**
 * The JSON Schema of the profile file (`.sidecarctl.yaml`), generated from the option table so it
 * cannot drift from what the profile reader accepts. Shipped as `schemas/profile.schema.json`
 * (regenerate: `node scripts/profile-schema.mjs` after a build; a test fails while it is stale).
 */
import { OPTIONS, type OptionDef } from './options.js';

type JsonSchema = Record<string, unknown>;

export const PROFILE_SCHEMA_FILE = 'schemas/profile.schema.json';

/** A default in the schema's own type, from the help text (editors offer it on completion). */
function defaultOf(option: OptionDef): unknown {
  if (option.defaultText === undefined) return undefined;
  if (option.schema.type === 'integer') return Number(option.defaultText);
  if (option.schema.type === 'boolean') return option.defaultText === 'true';
  return option.defaultText;
}

/** The profile reader takes a repeatable key as one value or a list of them. */
function propertyOf(option: OptionDef): JsonSchema {
  const base = { description: option.description, ...(defaultOf(option) !== undefined ? { default: defaultOf(option) } : {}) };
  if (!option.repeatable) return { ...base, ...option.schema };
  return { ...base, anyOf: [option.schema.items as JsonSchema, option.schema] };
}

export function profileSchema(): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const option of OPTIONS) properties[option.key] = propertyOf(option);
  properties.workloads = {
    description: 'only these workloads get sidecars (default: all): Kind/namespace/name, Kind/name or name',
    type: 'array',
    minItems: 1,
    items: { type: 'string', minLength: 1 },
  };
  // Owned by `sidecarctl lint`, which checks its own section.
  properties.lint = { description: 'settings of sidecarctl lint', type: 'object' };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://sidecarctl.dev/schemas/profile.schema.json',
    title: 'sidecarctl profile (.sidecarctl.yaml)',
    description:
      'Defaults for sidecarctl inject, render and scaffold. Every key is also a flag (--KEY) and a per-workload annotation (sidecarctl.io/KEY); flags beat annotations, annotations beat the profile.',
    type: 'object',
    additionalProperties: false,
    properties,
  };
}

/** The file's text: stable key order, two-space indent, trailing newline. */
export function profileSchemaText(): string {
  return JSON.stringify(profileSchema(), null, 2) + '\n';
}

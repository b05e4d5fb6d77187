/**
 * The `.sidecarctl.yaml` that scaffold writes: a schema line for editors, one commented key per
 * setting (in the option table's order), then the `workloads:` selection and any sections carried
 * over from the old profile (e.g. `lint:`).
 */
import { dirname, relative, sep } from 'node:path';
import { stringify } from 'yaml';
import { OPTIONS } from '../settings/options.js';
import { PROFILE_SCHEMA_FILE } from '../settings/schema.js';
import { WORKLOADS_SECTION } from '../inject/selection.js';
import { splitList, type Draft } from './questions.js';

/**
 * Where the `$schema=` line points. yaml-language-server resolves a relative path from the YAML
 * file's own directory, so when sidecarctl is installed in the project (a `node_modules` in the
 * profile's directory or above it) a relative path works offline and for everyone who checks the
 * project out. Otherwise (global install, npx, a source checkout) the versioned unpkg URL.
 */
export function schemaReference(profilePath: string, packageRoot: string, version: string): string {
  const parts = packageRoot.split(sep);
  const modules = parts.lastIndexOf('node_modules');
  if (modules > 0) {
    const projectDir = parts.slice(0, modules).join(sep) || sep;
    const fromProfile = relative(projectDir, dirname(profilePath));
    if (!fromProfile.startsWith('..')) {
      const rel = relative(dirname(profilePath), `${packageRoot}${sep}${PROFILE_SCHEMA_FILE}`).split(sep).join('/');
      return rel.startsWith('.') ? rel : `./${rel}`;
    }
  }
  return `https://unpkg.com/sidecarctl@${version}/${PROFILE_SCHEMA_FILE}`;
}

/** A profile value in the type its schema has, so the file validates against the schema. */
function typed(schema: Record<string, unknown>, text: string): string | number | boolean {
  if (schema.type === 'integer' && /^\d+$/.test(text)) return Number(text);
  if (schema.type === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

export interface ProfileContent {
  draft: Draft;
  /** Workload ids to inject; undefined: all of them. */
  workloads?: string[];
  /** Sections of another command to keep as they were (e.g. `lint`). */
  sections?: Record<string, unknown>;
  schemaRef: string;
}

export function profileText(content: ProfileContent): string {
  const out = [
    `# yaml-language-server: $schema=${content.schemaRef}`,
    '# Written by `sidecarctl scaffold`. `sidecarctl inject` run in this directory (or one below it)',
    '# reads it; flags and sidecarctl.io/<key> annotations on a workload override it.',
  ];
  for (const option of OPTIONS) {
    const value = content.draft[option.key];
    if (value === undefined || value === '') continue;
    const data = option.repeatable ? splitList(value) : typed(option.schema, value);
    out.push(`# ${option.description}`, stringify({ [option.key]: data }).trimEnd());
  }
  if (content.workloads) {
    out.push('# only these get sidecars; the others are left as they are', stringify({ [WORKLOADS_SECTION]: content.workloads }).trimEnd());
  }
  for (const [name, value] of Object.entries(content.sections ?? {})) {
    if (name !== WORKLOADS_SECTION) out.push(stringify({ [name]: value }).trimEnd());
  }
  return out.join('\n') + '\n';
}

/** Shared by the corpus, golden and CLI tests: the inputs and the checks every output must pass. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { runInjection, type RunResult } from '../../src/inject/run.js';
import { parseSource, type SourceFile } from '../../src/manifest/source.js';
import type { SettingsLayer } from '../../src/settings/resolve.js';
import { loadEnvoyValidator } from '../../src/validate/envoy.js';
import { validateKubernetesObject } from '../../src/validate/kubernetes.js';
import { formatPath } from '../../src/validate/issue.js';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const CORPUS = join(ROOT, '../shared/corpus');

export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ya?ml|json)$/.test(e.name) && e.name !== 'README.md')
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

export function load(path: string): SourceFile {
  return parseSource(path, readFileSync(path, 'utf8'));
}

export function inject(source: SourceFile, flags: SettingsLayer = []): RunResult {
  return runInjection([source], { mode: 'inject', profile: [], flags });
}

export function uninject(source: SourceFile): RunResult {
  return runInjection([source], { mode: 'uninject', profile: [], flags: [] });
}

/** Every object of a YAML/JSON stream, Lists flattened. */
export function objectsOfText(text: string): Record<string, unknown>[] {
  return parseAllDocuments(text)
    .flatMap((d) => {
      const v = d.toJS() as Record<string, unknown> | null;
      if (v && typeof v === 'object' && String(v.kind).endsWith('List') && Array.isArray(v.items)) return v.items as Record<string, unknown>[];
      return [v];
    })
    .filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object');
}

/** Schema issues of every object in a text, as `Kind/name: path: message` strings. */
export function schemaIssues(text: string): string[] {
  return objectsOfText(text).flatMap((o) => {
    const name = `${String(o.kind)}/${String((o.metadata as Record<string, unknown> | undefined)?.name)}`;
    return validateKubernetesObject(o).issues.map((i) => `${name}: ${i.message}`);
  });
}

/** Envoy configs inside the generated ConfigMaps, with their strict-validation errors (warnings dropped). */
export async function envoyIssues(text: string): Promise<{ configs: number; issues: string[] }> {
  const validator = await loadEnvoyValidator();
  let configs = 0;
  const issues: string[] = [];
  for (const o of objectsOfText(text)) {
    const data = o.kind === 'ConfigMap' ? (o.data as Record<string, string> | undefined) : undefined;
    if (!data?.['envoy.yaml']) continue;
    configs++;
    for (const issue of validator.validateBootstrap(parse(data['envoy.yaml']))) {
      if (!issue.message.startsWith('deprecated:')) issues.push(`${formatPath(issue.path)}: ${issue.message}`);
    }
  }
  return { configs, issues };
}

/** Comment lines of a YAML text (trimmed), to check they all survive. */
export function commentLines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('#'));
}

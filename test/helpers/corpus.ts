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
import { validateFluentBitConfig } from '../../src/validate/fluentbit.js';
import { resolveConfig } from '../../src/proxy/config.js';
import { FLUENTD_IMAGES, validateFluentdConfig } from '../../src/validate/fluentd.js';

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

/**
 * Log shipper configs inside the generated ConfigMaps, checked against the pinned agents: Fluent Bit
 * YAML by plugin and property, Fluentd against the plugins of the image its container runs.
 * Returns issues as `ConfigMap/name: key: message` strings, and how many configs were checked.
 */
export function loggingIssues(text: string): { fluentBit: number; fluentd: number; issues: string[] } {
  const objects = objectsOfText(text);
  const images = new Map<string, string>();
  for (const o of objects) {
    for (const c of podContainers(o)) if (c.name === 'sidecarctl-fluentd') images.set(configMapOf(o), String(c.image));
  }
  const result = { fluentBit: 0, fluentd: 0, issues: [] as string[] };
  for (const o of objects) {
    if (o.kind !== 'ConfigMap') continue;
    const name = String((o.metadata as Record<string, unknown>).name);
    const data = (o.data ?? {}) as Record<string, string>;
    if (data['fluent-bit.yaml'] !== undefined) {
      result.fluentBit++;
      for (const i of validateFluentBitConfig(parse(data['fluent-bit.yaml']))) result.issues.push(`ConfigMap/${name}: fluent-bit.yaml: ${formatPath(i.path)}: ${i.message}`);
    }
    if (data['fluent.conf'] !== undefined) {
      result.fluentd++;
      const image = Object.values(FLUENTD_IMAGES).find((i) => i.image === images.get(name));
      if (!image) result.issues.push(`ConfigMap/${name}: no fluentd container runs a known image for it`);
      for (const i of validateFluentdConfig(data['fluent.conf'], image?.plugins)) result.issues.push(`ConfigMap/${name}: fluent.conf:${i.line}: ${i.severity}: ${i.message}`);
    }
  }
  return result;
}

/** Every container and init container of a workload object (any kind), as plain data. */
export function podContainers(o: Record<string, unknown>): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (!v || typeof v !== 'object') return;
    const r = v as Record<string, unknown>;
    for (const key of ['containers', 'initContainers']) if (Array.isArray(r[key])) found.push(...(r[key] as Record<string, unknown>[]));
    for (const value of Object.values(r)) if (value && typeof value === 'object') visit(value);
  };
  visit(o.spec);
  return found;
}

/** The sidecarctl ConfigMap a workload object mounts, by its volume (or '' if none). */
function configMapOf(o: Record<string, unknown>): string {
  const match = /"name":"sidecarctl-config","configMap":\{"name":"([^"]+)"/.exec(JSON.stringify(o));
  return match?.[1] ?? '';
}

/** Bundled-proxy configs (proxy.json) in the generated ConfigMaps, each checked by the proxy's own validator. */
export function proxyConfigIssues(text: string): { configs: number; issues: string[] } {
  const result = { configs: 0, issues: [] as string[] };
  for (const o of objectsOfText(text)) {
    const data = o.kind === 'ConfigMap' ? (o.data as Record<string, string> | undefined) : undefined;
    if (data?.['proxy.json'] === undefined) continue;
    result.configs++;
    try {
      resolveConfig(JSON.parse(data['proxy.json']));
    } catch (error) {
      result.issues.push(`ConfigMap/${String((o.metadata as Record<string, unknown>).name)}: ${(error as Error).message}`);
    }
  }
  return result;
}

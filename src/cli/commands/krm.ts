/**
 * sidecarctl as a KRM function (the kustomize/kpt function specification): a
 * `config.kubernetes.io/v1` ResourceList on stdin, the same ResourceList on stdout with its items
 * injected (or uninjected, or linted) and `results` added.
 *
 * Settings come from `functionConfig`: a `sidecarctl.io/v1` `Inject`, `Uninject` or `Lint` whose
 * `spec` has the profile's keys (checked as a profile is, errors at their line of stdin), or a
 * ConfigMap whose `data` has them as strings (as kpt allows; lists comma-separated, as in
 * annotations). Items are edited in the text as inject edits files, so comments and key order
 * survive; the objects inject adds get `config.kubernetes.io/path` and index annotations next to
 * their workload's file, so kpt and kustomize write them beside it.
 *
 * Exit codes as the specification says: 0 with results of info and warning severity, 1 when a
 * result is an error (lint findings), 2 for a ResourceList or functionConfig that cannot be used
 * (the error is also a result).
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, stringify, type Document, type Node, type YAMLMap } from 'yaml';
import { isPlainObject, type ObjectRef } from '../../manifest/workloads.js';
import { EXIT_FINDINGS, EXIT_USAGE, UserError } from '../../errors.js';
import { runInjection, type WorkloadReport } from '../../inject/run.js';
import { emptyConfig } from '../../lint/config.js';
import { lintSources } from '../../lint/engine.js';
import { RULES } from '../../lint/registry.js';
import type { Finding } from '../../lint/types.js';
import { parseSource } from '../../manifest/source.js';
import { annotationLayer, type SettingsLayer } from '../../settings/resolve.js';
import { settingsOfMap } from '../../settings/profile.js';

export type KrmMode = 'inject' | 'uninject' | 'lint';
type Json = Record<string, unknown>;

const STDIN = '<stdin>';
const FUNCTION_API = 'sidecarctl.io/v1';
const KINDS: Record<string, KrmMode> = { Inject: 'inject', Uninject: 'uninject', Lint: 'lint' };
const PATH_ANNOTATIONS = ['config.kubernetes.io/path', 'internal.config.kubernetes.io/path'] as const;
const INDEX_ANNOTATIONS = ['config.kubernetes.io/index', 'internal.config.kubernetes.io/index'] as const;

interface KrmResult {
  message: string;
  severity: 'error' | 'warning' | 'info';
  resourceRef?: { apiVersion?: string; kind: string; name: string; namespace?: string };
  field?: { path: string };
  file?: { path: string; index?: number };
  tags?: Record<string, string>;
}

/** A quick look: is this text a ResourceList (the KRM function input)? */
export function isResourceList(text: string): boolean {
  return /^kind:\s*["']?ResourceList["']?\s*$/m.test(text) && /^apiVersion:\s*["']?config\.kubernetes\.io\/v1["']?\s*$/m.test(text);
}

/** Runs the function on a ResourceList's text; writes the ResourceList to stdout and returns the exit code. */
export async function krmCommand(input: string, requested: KrmMode | undefined): Promise<number> {
  const text = withoutResults(input);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const lineAt = (node: Node | null | undefined) => (node?.range ? lines.linePos(node.range[0]).line : undefined);
  try {
    if (doc.errors[0]) throw new UserError(doc.errors[0].message.split('\n')[0]!, STDIN, lines.linePos(doc.errors[0].pos[0]).line);
    if (!isMap(doc.contents) || doc.get('kind') !== 'ResourceList') throw new UserError('expects a config.kubernetes.io/v1 ResourceList on stdin', STDIN);
    const { mode, layer } = functionConfig(doc, requested, lineAt);
    const source = parseSource(STDIN, text);
    const results: KrmResult[] = [];
    let out = text;
    if (mode === 'lint') {
      const findings = await lintSources([source], { profile: layer, config: emptyConfig(), rules: RULES });
      results.push(...findings.map((f) => findingResult(f, doc, lines)));
    } else {
      // The function's settings are this run's choice, as flags are: recorded in the status
      // annotation, so that a later inject --check or lint re-creates the output without them.
      const result = runInjection([source], { mode, profile: [], flags: layer, decorate: placeInWorkloadFile(doc) });
      out = result.files[0]!.text;
      results.push(...result.reports.flatMap(reportResults));
    }
    // The items stay as inject spliced them (comments, order, quoting); results go at the end.
    process.stdout.write(`${out.endsWith('\n') ? out : `${out}\n`}${stringify({ results }, { aliasDuplicateObjects: false, lineWidth: 0 })}`);
    return results.some((r) => r.severity === 'error') ? EXIT_FINDINGS : 0;
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    // The input comes back with the error as a result (kpt and kustomize show it), and stderr says it too.
    process.stderr.write(`sidecarctl: ${error.format()}\n`);
    const result: KrmResult = { message: error.format(), severity: 'error', ...(error.line !== undefined ? { tags: { line: String(error.line) } } : {}) };
    if (isMap(doc.contents)) {
      doc.set('results', [result]);
      process.stdout.write(doc.toString({ lineWidth: 0, indentSeq: false }));
    }
    return EXIT_USAGE;
  }
}

/** The input without the results of an earlier function in a pipeline (ours replace them). */
function withoutResults(text: string): string {
  const doc = parseDocument(text, { prettyErrors: false });
  if (!isMap(doc.contents)) return text;
  const pair = doc.contents.items.find((p) => isScalar(p.key) && p.key.value === 'results');
  const start = (pair?.key as Node | undefined)?.range?.[0];
  const end = (pair?.value as Node | undefined)?.range?.[2];
  if (start === undefined || end === undefined) return text;
  return text.slice(0, start) + text.slice(end).replace(/^\n/, '');
}

/** The mode and the settings of the functionConfig (none: the subcommand's mode, defaults). */
function functionConfig(doc: Document.Parsed, requested: KrmMode | undefined, lineAt: (n: Node | null | undefined) => number | undefined): { mode: KrmMode; layer: SettingsLayer } {
  const config = doc.get('functionConfig', true) as Node | undefined;
  if (config === undefined || (isScalar(config) && config.value === null)) return { mode: requested ?? 'inject', layer: [] };
  if (!isMap(config)) throw new UserError('functionConfig must be a map', STDIN, lineAt(config));
  const kind = config.get('kind');
  const apiVersion = config.get('apiVersion');
  if (kind === 'ConfigMap' && apiVersion === 'v1') {
    const data = config.get('data', true) as Node | undefined;
    if (data !== undefined && !isMap(data)) throw new UserError('functionConfig data must be a map of strings', STDIN, lineAt(data));
    const values: Record<string, unknown> = {};
    for (const pair of (data as YAMLMap | undefined)?.items ?? []) values[`sidecarctl.io/${String((pair.key as { value?: unknown }).value)}`] = (pair.value as { value?: unknown } | null)?.value;
    const keyLine = (key: string) => lineAt(((data as YAMLMap).items.find((p) => `sidecarctl.io/${String((p.key as { value?: unknown }).value)}` === key)?.key ?? null) as Node | null);
    // The data keys are settings as annotations carry them (strings, lists comma-separated).
    return { mode: requested ?? 'inject', layer: annotationLayer(values, (key) => ({ file: STDIN, line: keyLine(key) ?? 0 })) };
  }
  const mode = typeof kind === 'string' ? KINDS[kind] : undefined;
  if (apiVersion !== FUNCTION_API || mode === undefined) {
    throw new UserError(`functionConfig must be a ${FUNCTION_API} Inject, Uninject or Lint (or a v1 ConfigMap), not ${String(apiVersion)} ${String(kind)}`, STDIN, lineAt(config));
  }
  if (requested !== undefined && requested !== mode) throw new UserError(`sidecarctl ${requested} was given a functionConfig of kind ${String(kind)}`, STDIN, lineAt(config));
  const spec = config.get('spec', true) as Node | undefined;
  if (spec === undefined || (isScalar(spec) && spec.value === null)) return { mode, layer: [] };
  if (!isMap(spec)) throw new UserError('functionConfig spec must be a map of settings', STDIN, lineAt(spec));
  const parsed = settingsOfMap(spec, STDIN, lineAt);
  if (Object.keys(parsed.sections).length > 0) throw new UserError(`functionConfig spec: ${Object.keys(parsed.sections).join(', ')} is a profile section, not a setting`, STDIN, lineAt(spec));
  return { mode, layer: parsed.layer };
}

/** `Kind/namespace/name` (or `Kind/name`) as a resourceRef. */
function refOf(label: string): KrmResult['resourceRef'] {
  const parts = label.split('/');
  return parts.length === 3 ? { kind: parts[0]!, namespace: parts[1]!, name: parts[2]! } : { kind: parts[0]!, name: parts[1] ?? '' };
}

function reportResults(r: WorkloadReport): KrmResult[] {
  const resourceRef = refOf(r.object);
  if (r.action === 'skipped') return [{ message: `skipped: ${r.reason ?? ''}`, severity: 'info', resourceRef, ...(r.skip ? { tags: { skip: r.skip } } : {}) }];
  const notes = r.notes.map((note): KrmResult => ({ message: note.replace(/^warning: /, ''), severity: note.startsWith('warning') ? 'warning' : 'info', resourceRef }));
  return [{ message: r.action, severity: 'info', resourceRef }, ...notes];
}

/** A lint finding as a result: the item it is in gives the file (its path annotation). */
function findingResult(f: Finding, doc: Document.Parsed, lines: LineCounter): KrmResult {
  const item = itemAtLine(doc, lines, f.line);
  const path = item ? annotation(item, PATH_ANNOTATIONS[0]) ?? annotation(item, PATH_ANNOTATIONS[1]) : undefined;
  return {
    message: `${f.message} [${f.rule}]`,
    severity: f.severity === 'error' ? 'error' : f.severity === 'warning' ? 'warning' : 'info',
    ...(f.object ? { resourceRef: refOf(f.object) } : {}),
    ...(path ? { file: { path } } : {}),
    tags: { rule: f.rule, line: String(f.line), column: String(f.col) },
  };
}

function items(doc: Document): YAMLMap[] {
  const list = doc.get('items', true);
  return isSeq(list) ? list.items.filter(isMap) : [];
}

function itemAtLine(doc: Document.Parsed, lines: LineCounter, line: number): YAMLMap | undefined {
  return items(doc).find((item) => {
    if (!item.range) return false;
    return lines.linePos(item.range[0]).line <= line && line <= lines.linePos(item.range[2]).line;
  });
}

function annotation(item: YAMLMap, key: string): string | undefined {
  const value = item.getIn(['metadata', 'annotations', key]);
  return typeof value === 'string' ? value : undefined;
}

/**
 * The objects inject adds for a workload (a ConfigMap, a Certificate) go into its file, at the next
 * free indexes there, in whichever annotation families (config.kubernetes.io/*, internal.*) the
 * workload carries, so kpt and kustomize write them beside it.
 */
function placeInWorkloadFile(doc: Document.Parsed): (objects: Json[], workload: ObjectRef) => Json[] {
  const maxIndex = new Map<string, number>();
  for (const item of items(doc)) {
    const path = annotation(item, PATH_ANNOTATIONS[0]) ?? annotation(item, PATH_ANNOTATIONS[1]);
    const index = Number(annotation(item, INDEX_ANNOTATIONS[0]) ?? annotation(item, INDEX_ANNOTATIONS[1]) ?? -1);
    if (path !== undefined) maxIndex.set(path, Math.max(maxIndex.get(path) ?? -1, index));
  }
  return (objects, workload) => {
    const annotations = isPlainObject(workload.value.metadata) && isPlainObject(workload.value.metadata.annotations) ? workload.value.metadata.annotations : {};
    const path = annotations[PATH_ANNOTATIONS[0]] ?? annotations[PATH_ANNOTATIONS[1]];
    if (typeof path !== 'string') return objects;
    return objects.map((object) => {
      const index = (maxIndex.get(path) ?? -1) + 1;
      maxIndex.set(path, index);
      const added: Record<string, string> = {};
      PATH_ANNOTATIONS.forEach((key, k) => {
        if (annotations[key] === undefined) return;
        added[key] = path;
        added[INDEX_ANNOTATIONS[k]!] = String(index);
      });
      const metadata = isPlainObject(object.metadata) ? object.metadata : {};
      const existing = isPlainObject(metadata.annotations) ? metadata.annotations : {};
      return { ...object, metadata: { ...metadata, annotations: { ...existing, ...added } } };
    });
  };
}

/**
 * A kustomize exec plugin (the form `kubectl kustomize --enable-alpha-plugins` runs; kubectl's
 * kustomize has no exec KRM functions): invoked as `Inject CONFIG` or `Uninject CONFIG`, the
 * transformer config (a sidecarctl.io/v1 Inject or Uninject, settings in `spec`) in CONFIG, the
 * resources on stdin as a YAML stream, the transformed stream on stdout, the report on stderr.
 */
export async function kustomizePluginCommand(kind: string, args: string[]): Promise<number> {
  const { readFileSync } = await import('node:fs');
  const { readStdin } = await import('../io.js');
  const { formatReport } = await import('../report.js');
  const mode: 'inject' | 'uninject' = kind === 'Uninject' ? 'uninject' : 'inject';
  const configPath = args[0];
  try {
    if (!configPath) throw new UserError(`${kind}: kustomize runs this plugin with its config file as the argument`);
    const lines = new LineCounter();
    const configText = readFileSync(configPath, 'utf8');
    const doc = parseDocument(configText, { lineCounter: lines, prettyErrors: false });
    const lineAt = (node: Node | null | undefined) => (node?.range ? lines.linePos(node.range[0]).line : undefined);
    if (doc.errors[0]) throw new UserError(doc.errors[0].message.split('\n')[0]!, configPath, lines.linePos(doc.errors[0].pos[0]).line);
    const spec = doc.get('spec', true) as Node | undefined;
    if (spec !== undefined && !isMap(spec)) throw new UserError('spec must be a map of settings', configPath, lineAt(spec));
    const layer = spec === undefined ? [] : settingsOfMap(spec as YAMLMap, configPath, lineAt).layer;
    const source = parseSource('<stdin>', await readStdin());
    const result = runInjection([source], { mode, profile: [], flags: layer }); // recorded, as flags are
    process.stderr.write(formatReport(result.reports, 'text'));
    process.stdout.write(result.files[0]!.text);
    return 0;
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    process.stderr.write(`sidecarctl: ${error.format()}\n`);
    return EXIT_USAGE;
  }
}

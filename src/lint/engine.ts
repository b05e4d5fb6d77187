/**
 * Running the rules: build the model, run every rule not turned off, drop what the annotations
 * ignore, apply the configured severities, and return the findings in file order.
 */
import type { SourceFile } from '../manifest/source.js';
import type { SettingsLayer } from '../settings/resolve.js';
import { LINT_IGNORE_ANNOTATION, levelOf, parseIgnoreAnnotation, type LintConfig } from './config.js';
import { buildModel, type LintObject, type Workload } from './model.js';
import type { Finding, Rule, RuleFinding } from './types.js';
import { isPlainObject } from '../manifest/workloads.js';

export interface LintOptions {
  profile: SettingsLayer;
  config: LintConfig;
  rules: readonly Rule[];
}

export async function lintSources(sources: SourceFile[], options: LintOptions): Promise<Finding[]> {
  const model = buildModel(sources, options.profile);
  const findings: Finding[] = [];
  for (const rule of options.rules) {
    const level = levelOf(options.config, rule.id);
    if (level === 'off') continue;
    for (const f of await rule.check(model)) {
      if (isIgnored(rule.id, f)) continue;
      findings.push({
        rule: rule.id,
        // Info ("not checked") stays info whatever level the rule is configured to.
        severity: f.severity === 'info' ? 'info' : (level ?? f.severity ?? rule.severity),
        message: f.message,
        ...f.at,
        ...(f.subject ? { object: f.subject.label } : {}),
        ...(f.container ? { container: f.container } : {}),
      });
    }
  }
  return sortFindings(dedupe(findings));
}

function ignoreEntries(subject: LintObject): { rule: string; container?: string }[] {
  const metas = [subject.ref.value.metadata, (subject as Partial<Workload>).podMeta];
  return metas.flatMap((meta) => (isPlainObject(meta) && isPlainObject(meta.annotations) ? parseIgnoreAnnotation(meta.annotations[LINT_IGNORE_ANNOTATION]) : []));
}

function isIgnored(rule: string, f: RuleFinding): boolean {
  if (!f.subject) return false;
  return ignoreEntries(f.subject).some((e) => (e.rule === rule || e.rule === 'all') && (e.container === undefined || e.container === f.container));
}

/** The same problem reached twice (e.g. one profile line behind many workloads) is reported once. */
function dedupe(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.rule}\0${f.file}\0${f.line}\0${f.col}\0${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.rule.localeCompare(b.rule));
}

export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}

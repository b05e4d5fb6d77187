/**
 * Injected files are what `sidecarctl inject --check` expects: re-injecting them (with the profile,
 * annotations and the settings each injection recorded in its status, no flags) changes nothing. Files without an injected workload are not judged.
 */
import { UserError } from '../../errors.js';
import { runInjection } from '../../inject/run.js';
import type { Rule, RuleFinding } from '../types.js';

/** 1-based line of the first difference between two texts. */
export function firstDifferentLine(a: string, b: string): number {
  const x = a.split('\n');
  const y = b.split('\n');
  let i = 0;
  while (i < x.length && i < y.length && x[i] === y[i]) i++;
  return i + 1;
}

export const injectDrift: Rule = {
  id: 'inject-drift',
  severity: 'error',
  summary: 'an injected file is what `sidecarctl inject` would write now (with the profile, annotations and the settings the injection recorded)',
  check(model) {
    const injected = new Set(model.workloads.filter((w) => w.status).map((w) => w.source));
    if (injected.size === 0) return [];
    // Services are planned with the workloads they select, so files holding Services come along.
    const withServices = new Set(model.objects.filter((o) => o.ref.kind === 'Service').map((o) => o.source));
    const sources = model.sources.filter((s) => injected.has(s) || withServices.has(s));
    let result;
    try {
      result = runInjection(sources, { mode: 'inject', profile: model.profile, flags: [] });
    } catch (error) {
      // A bad setting stops inject; the sidecar-settings rule reports it at its line.
      if (error instanceof UserError) return [];
      throw error;
    }
    const out: RuleFinding[] = [];
    for (const file of result.files) {
      if (!file.changed || !injected.has(file.source)) continue;
      const line = firstDifferentLine(file.source.text, file.text);
      const subject = model.workloads.find((w) => w.source === file.source && w.status && w.at([]).line <= line);
      out.push({
        at: { file: file.source.path, line, col: 1 },
        message: `sidecarctl inject would change this file from here: it was edited by hand, the profile, annotations or templates changed, or sidecarctl changed since it was injected; run sidecarctl inject -i ${file.source.path}`,
        ...(subject ? { subject } : {}),
      });
    }
    return out;
  },
};

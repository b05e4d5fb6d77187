/** `sidecarctl.io/*` annotations (with the profile) that inject would refuse. */
import { skipReason } from '../../inject/plan.js';
import type { Rule, RuleFinding } from '../types.js';
import { settingsErrorRule } from '../settings.js';
import type { LintModel, Workload } from '../model.js';
import type { Settings } from '../../settings/types.js';
import type { Position } from '../types.js';

/** Workloads whose settings fail, with the rule each failure belongs to. */
export function settingsErrors(model: LintModel, rule: string): RuleFinding[] {
  return model.workloads.flatMap((workload) => {
    const result = workload.settings();
    if (result.ok || settingsErrorRule(result.error.message) !== rule) return [];
    return [{ at: result.at, message: result.error.message, subject: workload }];
  });
}

/** Workloads inject would give a proxy: not skipped, and with proxy settings that resolve. */
export interface Proxied {
  workload: Workload;
  settings: Settings;
  origin: (key: string) => Position | undefined;
}

export function proxiedSettings(model: LintModel): Proxied[] {
  return model.workloads.flatMap((workload) => {
    const result = workload.settings();
    if (!result.ok || result.settings.proxy === 'none' || skipReason(workload.ref, result.settings)) return [];
    return [{ workload, settings: result.settings, origin: result.origin }];
  });
}

export const sidecarSettings: Rule = {
  id: 'sidecar-settings',
  severity: 'error',
  summary: '`sidecarctl.io/*` annotations and the profile hold settings inject accepts (known keys, valid values and combinations)',
  check: (model) => settingsErrors(model, 'sidecar-settings'),
};

/**
 * Injections remember the settings that made them. A workload injected with flags (`--retries 2`) has
 * them written into its status annotation, so that re-running inject without the flags (`inject --check`
 * in CI, lint's inject-drift in a hook) re-creates the same output. Only what differs from the defaults,
 * profile and annotations is kept (the rest is re-read from where it is), and never a value that
 * carries credentials (a `scheme://user:password@host` output).
 *
 * Layers, lowest first: defaults < profile < annotations < recorded < flags given now.
 */
import { resolveSettings, type RawSetting, type SettingsLayer } from '../settings/resolve.js';
import { OPTIONS, OPTIONS_BY_KEY } from '../settings/options.js';
import { formatStatus, STATUS_ANNOTATION, type WorkloadStatus } from './status.js';
import type { EditOp } from '../manifest/edit-ops.js';
import { isPlainObject } from '../manifest/workloads.js';

type Value = RawSetting['value'];
/** Setting key -> its value (a list for repeatable settings), as given. */
export type RecordedSettings = Record<string, Value | Value[]>;

const OPTION_ORDER = OPTIONS.map((o) => o.key);
const CREDENTIALS = /\/\/[^/@\s]*:[^/@\s]*@/;

/** The recorded settings of a status record as a settings layer located at the status annotation. */
export function recordedLayer(status: WorkloadStatus | undefined, where: { file?: string; line?: number }): SettingsLayer {
  const recorded = status?.settings;
  if (!isPlainObject(recorded)) return [];
  return Object.entries(recorded).flatMap(([key, value]) =>
    (Array.isArray(value) ? value : [value])
      .filter((v): v is Value => ['string', 'number', 'boolean'].includes(typeof v))
      .map((v) => ({ key, value: v, ...where })),
  );
}

/** The recorded layer with the keys given now as flags replaced by them. */
export function upperLayer(recorded: SettingsLayer, flags: SettingsLayer): SettingsLayer {
  const given = new Set(flags.map((f) => f.key));
  return [...recorded.filter((r) => !given.has(r.key)), ...flags];
}

/**
 * Of the upper layer (recorded + flags), what changes the result over the lower layers: each key is
 * dropped when resolving without it gives the same settings. Keys already recorded (and not given again
 * as flags) stay: a re-run with the same value now in the profile must not rewrite the record, or
 * `inject --check` would fail on an injection that did not change.
 */
export function settingsToRecord(lower: SettingsLayer[], upper: SettingsLayer, kept: ReadonlySet<string> = new Set()): RecordedSettings | undefined {
  if (upper.length === 0) return undefined;
  const full = JSON.stringify(resolveSettings([...lower, upper]));
  const out: RecordedSettings = {};
  // In the option table's order and as text, so the record is the same whether the settings came
  // as flags or as a YAML map (a kustomize transformer's spec, a kpt functionConfig).
  const keys = [...new Set(upper.map((r) => r.key))].sort((a, b) => OPTION_ORDER.indexOf(a) - OPTION_ORDER.indexOf(b));
  for (const key of keys) {
    const entries = upper.filter((r) => r.key === key);
    if (entries.some((r) => typeof r.value === 'string' && CREDENTIALS.test(r.value))) continue;
    if (!kept.has(key) && !matters(lower, upper, key, full)) continue;
    out[key] = OPTIONS_BY_KEY.get(key)?.repeatable ? entries.map((r) => String(r.value)) : String(entries.at(-1)!.value);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Whether resolving without `key` gives other settings (or an invalid combination). */
function matters(lower: SettingsLayer[], upper: SettingsLayer, key: string, full: string): boolean {
  try {
    return JSON.stringify(resolveSettings([...lower, upper.filter((r) => r.key !== key)])) !== full;
  } catch {
    return true; // without it the combination is invalid: it matters
  }
}

/** The ops with the workload's status annotation carrying these settings. */
export function withRecordedSettings(ops: EditOp[], settings: RecordedSettings | undefined): EditOp[] {
  if (!settings) return ops;
  return ops.map((op) => {
    if (op.op !== 'setPairs' || !op.pairs.some(([key]) => key === STATUS_ANNOTATION)) return op;
    return {
      ...op,
      pairs: op.pairs.map(([key, value]): [string, unknown] => {
        if (key !== STATUS_ANNOTATION || typeof value !== 'string') return [key, value];
        return [key, formatStatus({ ...(JSON.parse(value) as WorkloadStatus), settings })];
      }),
    };
  });
}

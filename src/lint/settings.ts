/**
 * A workload's effective sidecarctl settings (profile < workload annotations < pod template
 * annotations < the settings its injection recorded, as inject layers them, without flags), and where each one was set, so a rule can
 * point at the annotation or profile line to change. A bad value or combination is not an abort
 * here: it comes back as the error, for a rule to report at its line.
 */
import { UserError } from '../errors.js';
import { resolveSettings, type SettingsLayer } from '../settings/resolve.js';
import { annotationLayers, workloadLayers } from '../model/settings.js';
import type { Settings } from '../settings/types.js';
import { getPath } from '../manifest/edit-ops.js';
import { podMetadataPath } from '../manifest/workloads.js';
import { readStatus, STATUS_ANNOTATION, type WorkloadStatus } from '../inject/status.js';
import { recordedLayer } from '../inject/recorded.js';
import type { Path } from './locate.js';
import type { Position } from './types.js';

export type WorkloadSettings =
  | { ok: true; settings: Settings; origin: (key: string) => Position | undefined }
  | { ok: false; error: UserError; at: Position };

export interface SettingsSubject {
  value: Record<string, unknown>;
  kind: string;
  file: string;
  at(path: Path): Position;
}

export function settingsOf(subject: SettingsSubject, profile: SettingsLayer): WorkloadSettings {
  const origins = new Map<string, Position>();
  for (const raw of profile) if (raw.file && raw.line) origins.set(raw.key, { file: raw.file, line: raw.line, col: 1 });
  try {
    // inject's own layering (src/model/settings.ts), without flags; origins keep the column.
    const annotations = annotationLayers(subject.value, subject.kind, (path) => ({ file: subject.file, line: subject.at(path).line }));
    for (const { metaPath, layer } of annotations) {
      for (const raw of layer) origins.set(raw.key, subject.at([...metaPath, 'annotations', `sidecarctl.io/${raw.key}`]));
    }
    // Settings an injection recorded in its status (it was made with flags) count as inject counts them.
    const metaPath = podMetadataPath(subject.kind);
    const statusPath = [...metaPath, 'annotations', STATUS_ANNOTATION];
    const recorded = recordedLayer(readStatus<WorkloadStatus>(getPath(subject.value, metaPath)), { file: subject.file, line: subject.at(statusPath).line });
    // No origin for them: they were flags, and no line of the files would change them (rules that
    // point at a setting's line leave them alone, as they leave flags).
    for (const raw of recorded) origins.delete(raw.key);
    const settings = resolveSettings(workloadLayers(profile, annotations, recorded));
    return { ok: true, settings, origin: (key) => origins.get(key) };
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    const line = error.line ?? subject.at(['metadata']).line;
    const file = error.file ?? subject.file;
    // Prefer the exact column of the annotation we located, when the error is on that line.
    const col = [...origins.values()].find((p) => p.file === file && p.line === line)?.col ?? 1;
    return { ok: false, error, at: { file, line, col } };
  }
}

/** Settings errors that belong to a more specific rule than `sidecar-settings`. */
export const SETTINGS_ERROR_RULES: { rule: string; matches: (message: string) => boolean }[] = [
  { rule: 'mtls-cert-source', matches: (m) => m.includes('certificate source') },
  { rule: 'rate-limit-burst', matches: (m) => m.includes('--burst needs --rate-limit') },
];

export function settingsErrorRule(message: string): string {
  return SETTINGS_ERROR_RULES.find((r) => r.matches(message))?.rule ?? 'sidecar-settings';
}

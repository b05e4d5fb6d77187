/**
 * The profile's `workloads:` section: which workloads of the input get sidecars. Absent means all.
 * It lives in the profile (not in annotations) so that choosing workloads never edits the user's
 * manifests, and so `sidecarctl inject` reproduces what `sidecarctl scaffold` wrote.
 *
 * An entry names a workload as the report prints it (`Deployment/shop/web`), or without the
 * namespace (`Deployment/web`), or by name alone (`web`).
 */
import { UserError } from '../errors.js';
import { describe, type ObjectRef } from '../manifest/workloads.js';
import { skip, SKIP, type Skip } from './skips.js';

export const WORKLOADS_SECTION = 'workloads';

type Named = Pick<ObjectRef, 'kind' | 'name' | 'namespace'>;

export function selects(entry: string, ref: Named): boolean {
  return entry === describe(ref) || entry === `${ref.kind}/${ref.name}` || entry === ref.name;
}

/** Check the section's shape; `undefined` when the profile has none. */
export function parseSelection(section: unknown, file: string): string[] | undefined {
  if (section === undefined) return undefined;
  if (!Array.isArray(section) || section.length === 0 || !section.every((e) => typeof e === 'string' && e.trim() !== '')) {
    throw new UserError(`${WORKLOADS_SECTION}: expects a non-empty list of workloads, e.g. - Deployment/shop/web`, file);
  }
  return section.map((e: string) => e.trim());
}

/** The `skip` callback for runInjection: a reason for each workload the list leaves out. */
export function skipUnselected(selection: string[] | undefined, file: string): ((ref: ObjectRef) => Skip | undefined) | undefined {
  if (!selection) return undefined;
  return (ref) => (selection.some((entry) => selects(entry, ref)) ? undefined : skip(SKIP.notSelected, `not in the workloads: list of ${file}`));
}

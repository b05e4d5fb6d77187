/**
 * The settings a command was given: its flags, and the profile file. Declaring the flags is in
 * flag-definitions.ts, which `sidecarctl` loads at start; this module loads the profile reader (and
 * yaml), so only commands that use settings import it.
 */
import { OPTIONS } from '../settings/options.js';
import { findProfile, loadProfile, type Profile } from '../settings/profile.js';
import type { SettingsLayer } from '../settings/resolve.js';

export { addSettingsOptions } from './flag-definitions.js';

function attributeName(flag: string): string {
  const long = /--(?:no-)?([a-z0-9-]+)/.exec(flag)![1]!;
  return long.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The flags the user actually gave, as the top settings layer. */
export function flagsLayer(opts: Record<string, unknown>): SettingsLayer {
  const layer: SettingsLayer = [];
  for (const option of OPTIONS) {
    const value = opts[attributeName(option.flag)];
    if (value === undefined) continue;
    const flag = option.flag.split(' ')[0]!;
    for (const v of Array.isArray(value) ? value : [value]) layer.push({ key: option.key, value: v as string | boolean, flag });
  }
  return layer;
}

export function profileFrom(opts: Record<string, unknown>): Profile | undefined {
  const path = typeof opts.profile === 'string' ? opts.profile : findProfile();
  return path ? loadProfile(path) : undefined;
}

/** The settings flags, generated from the option table (src/settings/options.ts). */
import type { Command } from 'commander';
import { OPTIONS } from '../settings/options.js';
import { findProfile, loadProfile, type Profile } from '../settings/profile.js';
import type { SettingsLayer } from '../settings/resolve.js';

function attributeName(flag: string): string {
  const long = /--(?:no-)?([a-z0-9-]+)/.exec(flag)![1]!;
  return long.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export function addSettingsOptions(command: Command): Command {
  for (const option of OPTIONS) {
    const help = option.defaultText ? `${option.description} (default: ${option.defaultText})` : option.description;
    if (option.repeatable) command.option(option.flag, `${help} (repeatable)`, (value: string, previous: string[] = []) => [...previous, value]);
    else command.option(option.flag, help);
    if (option.schema.type === 'boolean') command.option(option.flag.replace('--', '--no-'), `(opposite of ${option.flag})`);
  }
  return command.option('--profile <file>', 'profile file (default: .sidecarctl.yaml in this or a parent directory)');
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

/**
 * Declaring the settings flags on a command, from the option table (src/settings/options.ts).
 * Every command is declared at start, `sidecarctl --version` too, so this module imports nothing
 * heavy: no yaml (profiles are read in settings-flags.ts, once a command runs).
 */
import type { Command } from 'commander';
import { OPTIONS } from '../settings/options.js';

export function addSettingsOptions(command: Command): Command {
  for (const option of OPTIONS) {
    const help = option.defaultText ? `${option.description} (default: ${option.defaultText})` : option.description;
    if (option.repeatable) command.option(option.flag, `${help} (repeatable)`, (value: string, previous: string[] = []) => [...previous, value]);
    else command.option(option.flag, help);
    if (option.schema.type === 'boolean') command.option(option.flag.replace('--', '--no-'), `(opposite of ${option.flag})`);
  }
  return command.option('--profile <file>', 'profile file (default: .sidecarctl.yaml in this or a parent directory)');
}

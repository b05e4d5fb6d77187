/** `sidecarctl scaffold [PATH]`: the terminal check, the request from the flags, and the exit codes. */
import { existsSync } from 'node:fs';
import { UserError } from '../../errors.js';
import { parseSelection, WORKLOADS_SECTION } from '../../inject/selection.js';
import { DEFAULT_SETTINGS, OPTIONS_BY_KEY } from '../../settings/options.js';
import { PROFILE_FILE } from '../../settings/profile.js';
import type { SettingsLayer } from '../../settings/resolve.js';
import { scaffold } from '../../scaffold/flow.js';
import { Interrupted } from '../../scaffold/write.js';
import { flagsLayer, profileFrom } from '../settings-flags.js';

/** Exit code of a run cancelled with Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

const NEEDS_TERMINAL =
  'scaffold asks questions and needs a terminal. Without one, give PATH and --yes to accept the defaults, ' +
  'with any settings flags (e.g. --proxy envoy --retries 2 --per-try-timeout 500ms --rate-limit 100 --upstream NAME=HOST:PORT, ' +
  '--logging fluent-bit, --mtls strict --mtls-issuer NAME), -o for the manifests, --profile for the profile file and --force to overwrite';

/** Each value on its own, so a bad flag or profile value is reported at its source before any question. */
function checkValues(layer: SettingsLayer): void {
  for (const raw of layer) {
    try {
      OPTIONS_BY_KEY.get(raw.key)!.apply(structuredClone(DEFAULT_SETTINGS), raw.value);
    } catch (error) {
      throw new UserError(`${raw.flag ?? raw.key}: ${(error as Error).message}`, raw.file, raw.line);
    }
  }
}

export async function scaffoldCommand(path: string | undefined, opts: Record<string, unknown>): Promise<void> {
  const yes = opts.yes === true;
  if (!yes && !(process.stdin.isTTY && process.stdout.isTTY)) throw new UserError(NEEDS_TERMINAL);
  // A --profile that does not exist yet is where the new profile goes, not one to read.
  const existing = typeof opts.profile === 'string' && !existsSync(opts.profile) ? undefined : profileFrom(opts);
  const flags = flagsLayer(opts);
  const seed = [existing?.layer ?? [], flags];
  seed.forEach(checkValues);
  const sections = existing?.sections ?? {};
  try {
    process.exitCode = await scaffold({
      ...(path !== undefined ? { path } : {}),
      ...(typeof opts.output === 'string' ? { output: opts.output } : {}),
      yes,
      force: opts.force === true,
      profilePath: typeof opts.profile === 'string' ? opts.profile : PROFILE_FILE,
      seed,
      selection: existing ? parseSelection(sections[WORKLOADS_SECTION], existing.path) : undefined,
      sections,
      log: (text) => process.stderr.write(text),
    });
  } catch (error) {
    // Ctrl-C in a prompt (inquirer's ExitPromptError) or while the files were being written.
    if (error instanceof Interrupted || (error as Error).name === 'ExitPromptError') {
      process.stderr.write('\nsidecarctl: scaffold cancelled; nothing written\n');
      process.exitCode = EXIT_INTERRUPTED;
      return;
    }
    throw error;
  }
}

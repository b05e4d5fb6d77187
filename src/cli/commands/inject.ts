/** `sidecarctl inject` and `sidecarctl uninject`. */
import { statSync } from 'node:fs';
import { EXIT_FINDINGS, UserError } from '../../errors.js';
import { runInjection } from '../../inject/run.js';
import { parseSelection, skipUnselected, WORKLOADS_SECTION } from '../../inject/selection.js';
import { joinStream, outputPathIn, readInputs, writeAtomic } from '../io.js';
import { createProgress, shouldShowProgress } from '../progress.js';
import { formatReport } from '../report.js';
import { isResourceList, krmCommand } from './krm.js';
import { flagsLayer, profileFrom } from '../settings-flags.js';

export async function injectCommand(mode: 'inject' | 'uninject', paths: string[], opts: Record<string, unknown>): Promise<void> {
  const report = String(opts.report ?? 'text');
  if (report !== 'text' && report !== 'json') throw new UserError(`--report: "${report}" is not text or json`);
  if (opts.inPlace && opts.output) throw new UserError('give either --in-place or --output, not both');
  if (opts.inPlace && (paths.length === 0 || paths.includes('-'))) throw new UserError('--in-place needs files, not stdin');

  const flags = mode === 'inject' ? flagsLayer(opts) : [];
  const profile = mode === 'inject' ? profileFrom(opts) : undefined;
  const sources = await readInputs(paths);
  // A KRM ResourceList on stdin (kpt fn eval --exec, a kustomize exec transformer): function mode.
  if (sources.length === 1 && sources[0]!.path === '<stdin>' && isResourceList(sources[0]!.text)) {
    process.exitCode = await krmCommand(sources[0]!.text, mode);
    return;
  }
  const skip = profile ? skipUnselected(parseSelection(profile.sections[WORKLOADS_SECTION], profile.path), profile.path) : undefined;
  const show = shouldShowProgress({ isTTY: process.stderr.isTTY === true, files: sources.length, report });
  const progress = createProgress(process.stderr, show, `${mode} ${sources.length} files`);
  let result: ReturnType<typeof runInjection>;
  try {
    result = runInjection(sources, { mode, profile: profile?.layer ?? [], flags, skip, progress: progress.update });
  } finally {
    progress.finish();
  }
  process.stderr.write(formatReport(result.reports, report));

  if (opts.check) {
    const changed = result.files.filter((f) => f.changed);
    for (const f of changed) process.stderr.write(`would change: ${f.source.path}\n`);
    if (changed.length > 0) process.exitCode = EXIT_FINDINGS;
    return;
  }
  if (opts.inPlace) {
    for (const f of result.files) if (f.changed) await writeAtomic(f.source.path, f.text);
    return;
  }
  const output = typeof opts.output === 'string' ? opts.output : undefined;
  if (output && (output.endsWith('/') || isDirectory(output))) {
    for (const [i, f] of result.files.entries()) await writeAtomic(outputPathIn(output, f.source, i), f.text);
    return;
  }
  const stream = result.files.length === 1 ? result.files[0]!.text : joinStream(result.files.map((f) => f.text));
  if (output) await writeAtomic(output, stream);
  else process.stdout.write(stream);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

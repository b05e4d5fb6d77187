/**
 * `sidecarctl scaffold`: read the input, show its workloads, ask the questions (or take the defaults
 * with --yes), build the profile and the injected manifests in memory, show a summary, and only after
 * the final confirmation write everything at once.
 *
 * The injection runs from the profile text exactly as it will be written (parsed back), so
 * `sidecarctl inject` with that profile gives the same bytes.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { PACKAGE_ROOT, PACKAGE_VERSION } from '../package-root.js';
import { UserError } from '../errors.js';
import { runInjection, type RunResult } from '../inject/run.js';
import { parseSelection, selects, skipUnselected, WORKLOADS_SECTION } from '../inject/selection.js';
import { parseSource, type SourceFile } from '../manifest/source.js';
import { parseProfile, PROFILE_FILE } from '../settings/profile.js';
import { resolveSettings, type SettingsLayer } from '../settings/resolve.js';
import { readInputs } from '../cli/io.js';
import { formatReport } from '../cli/report.js';
import { formatInventory, inventory, type WorkloadInfo } from './inventory.js';
import { defaultOutput, outputPaths } from './outputs.js';
import { profileText, schemaReference } from './profile-text.js';
import { defaultFor, finalDraft, isAsked, normalize, QUESTIONS, seedDraft, validateAnswer, type Draft, type Question } from './questions.js';
import { writeAll, type PlannedFile } from './write.js';

type Prompts = typeof import('@inquirer/prompts');

export interface ScaffoldRequest {
  path?: string;
  output?: string;
  /** Take defaults and flags without asking (for scripts); needs PATH. */
  yes: boolean;
  /** With --yes: overwrite existing files. */
  force: boolean;
  /** Where the profile is written. */
  profilePath: string;
  /** Lower layers that seed the answers: an existing profile, then the flags. */
  seed: SettingsLayer[];
  /** The existing profile's `workloads:` selection, and its other sections (kept as they are). */
  selection?: string[];
  sections: Record<string, unknown>;
  /** Where the listing, summary and messages go (stderr). */
  log: (text: string) => void;
}

export type FileState = 'new' | 'overwrite' | 'unchanged';

export interface Plan {
  profile: string;
  result: RunResult;
  files: (PlannedFile & { state: FileState })[];
}

interface Input {
  path: string;
  isDirectory: boolean;
  sources: SourceFile[];
  workloads: WorkloadInfo[];
}


/** Read PATH and list its workloads (from the un-injected text, so an injected input lists the same). */
export async function loadInput(path: string): Promise<Input> {
  if (path === '-') throw new UserError('scaffold reads files or directories, not stdin');
  const sources = await readInputs([path]);
  const clean = runInjection(sources, { mode: 'uninject', profile: [], flags: [] }).files.map((f) => (f.changed ? parseSource(f.source.path, f.text) : f.source));
  const workloads = inventory(clean);
  if (!workloads.some((w) => !w.excluded)) throw new UserError(workloads.length === 0 ? 'no workloads found' : 'no workload here can get sidecars', path);
  return { path, isDirectory: statSync(path).isDirectory(), sources, workloads };
}

async function askPath(ask: Prompts): Promise<Input> {
  let loaded: Input | undefined;
  await ask.input({
    message: 'Manifests to read (a file or a directory)',
    validate: async (text) => {
      try {
        loaded = await loadInput(text.trim());
        return true;
      } catch (error) {
        return error instanceof UserError ? error.format() : (error as Error).message;
      }
    },
  });
  return loaded!;
}

async function chooseWorkloads(ask: Prompts | undefined, workloads: WorkloadInfo[], selection: string[] | undefined): Promise<string[] | undefined> {
  const offered = workloads.filter((w) => !w.excluded);
  const preselected = offered.filter((w) => !selection || selection.some((entry) => selects(entry, w))).map((w) => w.id);
  let chosen = preselected.length > 0 ? preselected : offered.map((w) => w.id);
  if (ask && offered.length > 1) {
    chosen = await ask.checkbox({
      message: 'Workloads to give sidecars',
      choices: offered.map((w) => ({ value: w.id, name: w.id, checked: chosen.includes(w.id) })),
      required: true,
    });
  }
  // All of them: no list, so workloads added to the input later get sidecars too.
  return chosen.length === offered.length ? undefined : chosen;
}

async function askOne(ask: Prompts, question: Question, draft: Draft): Promise<string> {
  const fallback = defaultFor(question, draft);
  if (question.kind === 'select') {
    return ask.select({ message: question.message, choices: question.choices!, default: fallback });
  }
  return ask.input({ message: question.message, default: fallback, validate: (text) => validateAnswer(question, text, draft) });
}

/** Every question in turn; with --yes each default is checked the same way, and a bad one is bad input. */
export async function askSettings(ask: Prompts | undefined, seed: Draft): Promise<Draft> {
  const draft: Draft = { ...seed };
  for (const question of QUESTIONS) {
    if (!isAsked(question, draft)) continue;
    let answer: string;
    if (ask) answer = await askOne(ask, question, draft);
    else {
      answer = defaultFor(question, draft);
      const verdict = validateAnswer(question, answer, draft);
      if (verdict !== true) throw new UserError(`${question.key.startsWith('@') ? question.message : `--${question.key}`}: ${verdict}`);
    }
    draft[question.key] = normalize(question, answer);
  }
  return draft;
}

function stateOf(file: PlannedFile): FileState {
  if (!existsSync(file.path)) return 'new';
  return readFileSync(file.path, 'utf8') === file.text ? 'unchanged' : 'overwrite';
}

/** The profile text and the injected manifests it produces, nothing written. */
export function buildPlan(input: Input, draft: Draft, workloads: string[] | undefined, output: string, req: Pick<ScaffoldRequest, 'profilePath' | 'sections'>): Plan {
  const sections = Object.fromEntries(Object.entries(req.sections).filter(([k]) => k !== WORKLOADS_SECTION));
  const profile = profileText({ draft: finalDraft(draft), workloads, sections, schemaRef: schemaReference(resolve(req.profilePath), PACKAGE_ROOT, PACKAGE_VERSION) });
  const parsed = parseProfile(req.profilePath, profile);
  resolveSettings([parsed.layer]);
  const skip = skipUnselected(parseSelection(parsed.sections[WORKLOADS_SECTION], req.profilePath), req.profilePath);
  const result = runInjection(input.sources, { mode: 'inject', profile: parsed.layer, flags: [], skip });
  const target = !input.isDirectory && existsSync(output) && statSync(output).isDirectory() ? `${output}${sep}` : output;
  const paths = outputPaths(input.path, input.isDirectory, result.files.map((f) => f.source.path), target);
  const planned: PlannedFile[] = [{ path: req.profilePath, text: profile }, ...result.files.map((f, i) => ({ path: paths[i]!, text: f.text }))];
  return { profile, result, files: planned.map((f) => ({ ...f, state: stateOf(f) })) };
}

export function formatSummary(plan: Plan): string {
  const indented = plan.profile.trimEnd().split('\n').map((l) => `  ${l}`).join('\n');
  const files = plan.files.map((f) => `  ${f.state.padEnd(10)} ${f.path}`).join('\n');
  return `\nProfile ${plan.files[0]!.path}:\n${indented}\n\n${formatReport(plan.result.reports, 'text')}\nFiles:\n${files}\n`;
}

/** Run the whole scaffold; returns the exit code. Prompt cancellation (ExitPromptError) and Interrupted propagate. */
export async function scaffold(req: ScaffoldRequest): Promise<number> {
  const ask: Prompts | undefined = req.yes ? undefined : await import('@inquirer/prompts');
  if (!ask && !req.path) throw new UserError('scaffold --yes needs PATH (a manifest file or directory)');
  const input = req.path ? await loadInput(req.path) : await askPath(ask!);
  req.log(formatInventory(input.workloads));

  const workloads = await chooseWorkloads(ask, input.workloads, req.selection);
  const draft = await askSettings(ask, seedDraft(req.seed));
  const suggested = req.output ?? defaultOutput(input.path, input.isDirectory);
  const output = ask
    ? (await ask.input({ message: 'Write the injected manifests to', default: suggested, validate: (t) => t.trim() !== '' || 'a path is needed' })).trim()
    : suggested;

  const plan = buildPlan(input, draft, workloads, output, req);
  req.log(formatSummary(plan));
  if (!plan.result.reports.some((r) => r.action === 'injected')) req.log('warning: no workload gets sidecars with these answers (the reasons are above)\n');
  const changing = plan.files.filter((f) => f.state !== 'unchanged');
  const overwrites = plan.files.filter((f) => f.state === 'overwrite');
  if (changing.length === 0) {
    req.log('Every file is already up to date; nothing written.\n');
    return 0;
  }
  if (!ask && overwrites.length > 0 && !req.force) {
    throw new UserError(`would overwrite ${overwrites.map((f) => f.path).join(', ')}; give --force to overwrite them, or -o and --profile for other places. Nothing written`);
  }
  if (ask) {
    const message = overwrites.length > 0 ? `Overwrite ${overwrites.map((f) => f.path).join(', ')} and write the rest?` : `Write ${changing.length} file${changing.length === 1 ? '' : 's'}?`;
    if (!(await ask.confirm({ message, default: overwrites.length === 0 }))) {
      req.log('Nothing written.\n');
      return 0;
    }
  }
  await writeAll(changing);
  req.log(`Wrote ${changing.map((f) => f.path).join(', ')}.\n`);
  const profileFlag = resolve(req.profilePath) === resolve(PROFILE_FILE) ? '' : ` --profile ${req.profilePath}`;
  req.log(`\`sidecarctl inject${profileFlag} ${input.path}\` gives the same manifests.\n`);
  return 0;
}

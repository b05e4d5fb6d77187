/** `sidecarctl lint [PATH...]`: findings on stdout (text, json, sarif or github); exit 1 on errors. */
import { PACKAGE_VERSION } from '../../package-root.js';
import { EXIT_FINDINGS, UserError } from '../../errors.js';
import { expandPaths, parseSource, readSource, type SourceFile } from '../../manifest/source.js';
import { emptyConfig, isIgnoredPath, parseLintConfig, type LintConfig } from '../../lint/config.js';
import { hasErrors, lintSources, sortFindings } from '../../lint/engine.js';
import { buildKustomization, kustomizeRoles, mapToSources } from '../../lint/kustomize.js';
import { resolve } from 'node:path';
import { RULES, RULE_IDS } from '../../lint/registry.js';
import { formatJson } from '../../lint/reporters/json.js';
import { formatSarif } from '../../lint/reporters/sarif.js';
import { formatText } from '../../lint/reporters/text.js';
import { formatGithub } from '../../lint/reporters/github.js';
import { readStaged } from '../../lint/staged.js';
import { readStdin } from '../io.js';
import { isResourceList } from './krm.js';
import { profileFrom } from '../settings-flags.js';

const FORMATS = ['text', 'json', 'sarif', 'github'] as const;

async function readSources(paths: string[], staged: boolean, config: LintConfig): Promise<SourceFile[]> {
  if (staged) {
    if (paths.length > 0) throw new UserError('give either --staged or paths, not both');
    return (await readStaged()).filter((f) => !isIgnoredPath(config, f.path)).map((f) => parseSource(f.path, f.text));
  }
  // No path: the current directory (CI and hooks seldom pipe manifests in; `-` reads stdin).
  const files = (await expandPaths(paths.length === 0 ? ['.'] : paths)).filter((p) => !isIgnoredPath(config, p));
  const sources: SourceFile[] = [];
  const unreadable: UserError[] = [];
  for (const file of files) {
    try {
      sources.push(await readSource(file, readStdin));
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      unreadable.push(error);
    }
  }
  // Say every file that cannot be read, not only the first, then stop: exit 2.
  for (const error of unreadable.slice(0, -1)) process.stderr.write(`sidecarctl: ${error.format()}\n`);
  if (unreadable.length > 0) throw unreadable[unreadable.length - 1]!;
  const roles = await kustomizeRoles(files.filter((f) => f !== '-'));
  for (const source of sources) {
    const role = roles.get(resolve(source.path));
    if (role) source.kustomize = role;
  }
  return sources;
}

export async function lintCommand(paths: string[], opts: Record<string, unknown>): Promise<void> {
  const format = String(opts.format ?? 'text');
  if (!(FORMATS as readonly string[]).includes(format)) throw new UserError(`--format: "${format}" is not ${FORMATS.join(', ')}`);
  const profile = profileFrom(opts);
  const config = profile ? parseLintConfig(profile.sections.lint, profile.path, RULE_IDS) : emptyConfig();
  const kustomize = typeof opts.kustomize === 'string' ? opts.kustomize : undefined;
  if (kustomize && (paths.length > 0 || opts.staged)) throw new UserError('give either --kustomize DIR or paths (or --staged), not both');
  const build = kustomize ? await buildKustomization(kustomize) : undefined;
  const sources = build ? [build.source] : await readSources(paths, opts.staged === true, config);
  if (sources.length === 1 && sources[0]!.path === '<stdin>' && isResourceList(sources[0]!.text)) {
    const { krmCommand } = await import('./krm.js');
    process.exitCode = await krmCommand(sources[0]!.text, 'lint');
    return;
  }
  const built = await lintSources(sources, { profile: profile?.layer ?? [], config, rules: RULES });
  // Said where the objects came from (their kustomization's files), not at the build's lines.
  const findings = build ? sortFindings(await mapToSources(built, build)) : built;
  if (format === 'json') process.stdout.write(formatJson(findings, sources.length));
  else if (format === 'sarif') {
    process.stdout.write(formatSarif(findings, RULES, PACKAGE_VERSION));
  } else if (format === 'github') process.stdout.write(formatGithub(findings));
  else process.stdout.write(formatText(findings, sources.length));
  if (hasErrors(findings)) process.exitCode = EXIT_FINDINGS;
}

/** Linting in-process, as the CLI does, for the lint tests. */
import { readFileSync } from 'node:fs';
import { emptyConfig, type LintConfig } from '../../src/lint/config.js';
import { lintSources } from '../../src/lint/engine.js';
import { RULES } from '../../src/lint/registry.js';
import type { Finding } from '../../src/lint/types.js';
import { parseSource, type SourceFile } from '../../src/manifest/source.js';
import type { SettingsLayer } from '../../src/settings/resolve.js';

export function lint(sources: SourceFile[], config: LintConfig = emptyConfig(), profile: SettingsLayer = []): Promise<Finding[]> {
  return lintSources(sources, { profile, config, rules: RULES });
}

export function lintText(path: string, text: string, config?: LintConfig): Promise<Finding[]> {
  return lint([parseSource(path, text)], config);
}

export function lintFile(path: string, config?: LintConfig): Promise<Finding[]> {
  return lintText(path, readFileSync(path, 'utf8'), config);
}

/** The `# lint: RULE` markers of a fixture as `line RULE` strings. */
export function markers(text: string): string[] {
  return text.split('\n').flatMap((line, i) => {
    const m = /#\s*lint:\s*([a-z0-9-]+)\s*$/.exec(line);
    return m && !line.trimStart().startsWith('#') ? [`${i + 1} ${m[1]}`] : [];
  });
}

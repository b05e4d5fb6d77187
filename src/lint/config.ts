/**
 * The `lint:` section of `.sidecarctl.yaml`:
 *
 *   lint:
 *     disable: [missing-reference]        # rules not to run
 *     rules:                              # per-rule severity: error, warning or off
 *       image-tag: warning
 *     ignore: ["vendor/**", "*.generated.yaml"]   # paths not linted (globs, relative to the profile)
 *
 * and the `sidecarctl.io/lint-ignore` annotation: `rule,rule` for the object, `rule@container` for one
 * container of a workload, `all` for every rule.
 */
import { dirname, relative, resolve, sep } from 'node:path';
import { UserError } from '../errors.js';
import { isPlainObject } from '../manifest/workloads.js';
import type { Level } from './types.js';

export interface LintConfig {
  levels: Map<string, Level>;
  /** Path globs, matched against paths relative to `base`. */
  ignore: RegExp[];
  base: string;
}

export const LINT_IGNORE_ANNOTATION = 'sidecarctl.io/lint-ignore';
const LEVELS: readonly Level[] = ['error', 'warning', 'off'];

export function emptyConfig(base = process.cwd()): LintConfig {
  return { levels: new Map(), ignore: [], base };
}

export function parseLintConfig(section: unknown, profilePath: string, ruleIds: readonly string[]): LintConfig {
  const config = emptyConfig(dirname(resolve(profilePath)));
  if (section === undefined || section === null) return config;
  const fail = (message: string): never => {
    throw new UserError(`lint: ${message}`, profilePath);
  };
  if (!isPlainObject(section)) fail('expects a map with disable, rules and ignore');
  const known = (id: string) => ruleIds.includes(id) || fail(`unknown rule "${id}" (rules: ${ruleIds.join(', ')})`);
  for (const key of Object.keys(section as object)) if (!['disable', 'rules', 'ignore'].includes(key)) fail(`unknown key "${key}" (disable, rules, ignore)`);
  const { disable, rules, ignore } = section as Record<string, unknown>;
  for (const id of listOf(disable, 'disable', fail)) if (known(id)) config.levels.set(id, 'off');
  if (rules !== undefined && rules !== null) {
    if (!isPlainObject(rules)) fail('rules: expects a map of rule: error|warning|off');
    for (const [id, level] of Object.entries(rules as object)) {
      known(id);
      // YAML reads a bare `off` as a string, but `false` would be a boolean: accept it as off.
      const text = level === false ? 'off' : String(level);
      if (!LEVELS.includes(text as Level)) fail(`rules.${id}: "${text}" is not error, warning or off`);
      config.levels.set(id, text as Level);
    }
  }
  config.ignore = listOf(ignore, 'ignore', fail).map(globToRegExp);
  return config;
}

function listOf(value: unknown, key: string, fail: (m: string) => never): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) fail(`${key}: expects a list of strings`);
  return value as string[];
}

/** `**` any directories, `*` and `?` within one path segment; a pattern without `/` matches the base name anywhere. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  const anchored = glob.includes('/') ? `^${re.replace(/^\\?\.\//, '')}(?:/.*)?$` : `(?:^|/)${re}(?:/.*)?$`;
  return new RegExp(anchored);
}

export function isIgnoredPath(config: LintConfig, path: string): boolean {
  if (config.ignore.length === 0 || path === '<stdin>') return false;
  const rel = relative(config.base, resolve(path)).split(sep).join('/');
  return config.ignore.some((re) => re.test(rel));
}

export function levelOf(config: LintConfig, rule: string): Level | undefined {
  return config.levels.get(rule);
}

/** `sidecarctl.io/lint-ignore: "image-tag, sidecar-resources@fluentd"` as [rule, container?] pairs. */
export function parseIgnoreAnnotation(value: unknown): { rule: string; container?: string }[] {
  if (typeof value !== 'string') return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const [rule, container] = entry.split('@', 2) as [string, string | undefined];
      return container ? { rule: rule.trim(), container: container.trim() } : { rule: rule.trim() };
    });
}

/**
 * The profile file (`.sidecarctl.yaml`): the same keys as the flags, plus sections of other commands
 * (`lint:`). Found in the current directory or the nearest parent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type YAMLMap } from 'yaml';
import { UserError } from '../errors.js';
import { OPTIONS_BY_KEY } from './options.js';
import type { SettingsLayer } from './resolve.js';

export const PROFILE_FILE = '.sidecarctl.yaml';
/** Top-level keys that belong to other commands, not to settings. */
const SECTIONS = ['lint', 'workloads'];

export interface Profile {
  path: string;
  layer: SettingsLayer;
  /** Other sections as plain values, e.g. `lint`. */
  sections: Record<string, unknown>;
}

export function findProfile(start = process.cwd()): string | undefined {
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, PROFILE_FILE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function loadProfile(path: string): Profile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UserError(`cannot read profile: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, path);
  }
  return parseProfile(path, text);
}

export function parseProfile(path: string, text: string): Profile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const lineAt = (node: Node | null | undefined) => (node?.range ? lines.linePos(node.range[0]).line : undefined);
  const error = doc.errors[0];
  if (error) throw new UserError(error.message.split('\n')[0]!, path, lines.linePos(error.pos[0]).line);
  if (doc.contents === null) return { path, layer: [], sections: {} };
  if (!isMap(doc.contents)) throw new UserError('a profile is a map of settings', path, lineAt(doc.contents));
  return settingsOfMap(doc.contents, path, lineAt);
}

/**
 * The settings in a YAML map (a profile, or a KRM functionConfig's spec), each with its line, and
 * the other known sections as plain values.
 */
export function settingsOfMap(map: YAMLMap, path: string, lineAt: (node: Node | null | undefined) => number | undefined): Profile {
  const layer: SettingsLayer = [];
  const sections: Record<string, unknown> = {};
  for (const pair of map.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const line = lineAt(pair.key as Node);
    if (SECTIONS.includes(key)) {
      sections[key] = (pair.value as Node | null)?.toJSON() ?? null;
      continue;
    }
    const option = OPTIONS_BY_KEY.get(key);
    if (!option) throw new UserError(`unknown setting "${key}"`, path, line);
    const value = pair.value as Node | null;
    const items = isSeq(value) ? value.items : [value];
    if (isSeq(value) && !option.repeatable) throw new UserError(`${key}: expects a single value, not a list`, path, line);
    for (const item of items) {
      if (!isScalar(item) || item.value === null || typeof item.value === 'object') {
        throw new UserError(`${key}: expects ${option.repeatable ? 'a list of values' : 'a single value'}`, path, lineAt(item as Node) ?? line);
      }
      layer.push({ key, value: item.value as string | number | boolean, file: path, line: lineAt(item as Node) ?? line });
    }
  }
  return { path, layer, sections };
}

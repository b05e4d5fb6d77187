/**
 * Reading inputs: files, directories (recursive), stdin. Each becomes a SourceFile holding the exact
 * text and its parsed yaml Documents (with source ranges, which the splicer needs).
 * Malformed input is a UserError with file:line.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isCollection, isPair, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import { UserError } from '../errors.js';
import { isPlainDocument, markPlainDocuments, unresolvedAlias } from './anchors.js';

export type SourceFormat = 'yaml' | 'json';

export interface SourceFile {
  /** As shown to the user: the path given, or `<stdin>`. */
  path: string;
  text: string;
  format: SourceFormat;
  docs: Document.Parsed[];
  lines: LineCounter;
  /**
   * Used by a kustomization next to it: as a patch (partial objects, not for the API server as they are), or
   * as a resource (which its transformers may complete: commonLabels adds selectors).
   */
  kustomize?: 'patch' | 'resource';
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

/** Expand PATH arguments: `-` is stdin; directories are walked for *.yaml, *.yml, *.json (sorted). */
export async function expandPaths(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    if (path === '-') {
      out.push(path);
      continue;
    }
    const info = await stat(path).catch(() => {
      throw new UserError('no such file or directory', path);
    });
    if (info.isDirectory()) out.push(...(await walk(path)));
    else out.push(path);
  }
  return out;
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    throw new UserError(`cannot read directory: ${error.code ?? error.message}`, dir);
  });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(path)));
    else if (entry.isFile() && MANIFEST_FILE.test(entry.name)) files.push(path);
  }
  return files;
}

export async function readSource(path: string, stdin: () => Promise<string>): Promise<SourceFile> {
  const text =
    path === '-'
      ? await stdin()
      : await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
          throw new UserError(`cannot read file: ${error.code ?? error.message}`, path);
        });
  return parseSource(path === '-' ? '<stdin>' : path, text);
}

export function detectFormat(path: string, text: string): SourceFormat {
  if (/\.json$/i.test(path)) return 'json';
  if (/\.ya?ml$/i.test(path)) return 'yaml';
  return /^\s*[{[]/.test(text) && !/^\s*[{[][^\n]*\n---/m.test(text) ? 'json' : 'yaml';
}

/** Parse text into documents; the first syntax error becomes `file:line: message`. */
export function parseSource(path: string, text: string): SourceFile {
  const format = detectFormat(path, text);
  if (text.includes('\0')) throw new UserError('binary file, not a manifest', path);
  const lines = new LineCounter();
  const list = parseDocuments(path, text, lines);
  markPlainDocuments(text, list);
  for (const doc of list) {
    const error = doc.errors[0];
    if (error) {
      const line = lines.linePos(error.pos[0]).line;
      // The parser recurses per nesting level, and reports running out of stack as an error of the document.
      if (/call stack/i.test(error.message)) throw new UserError(TOO_DEEP, path, line);
      throw new UserError(firstLine(error.message), path, line);
    }
    const deep = tooDeep(doc.contents);
    if (deep) throw new UserError(TOO_DEEP, path, lines.linePos(deep.range?.[0] ?? 0).line);
    // The yaml library finds an unknown alias only when the document is converted, and then says where
    // the document starts: say where the alias is (anchors never reach across `---`).
    const alias = isPlainDocument(doc) ? undefined : unresolvedAlias(doc);
    if (alias) {
      const text = `alias *${alias.name} has no anchor &${alias.name} before it in this document (anchors do not reach across documents)`;
      throw new UserError(text, path, lines.linePos(alias.offset).line);
    }
  }
  if (format === 'json' && list.length > 1) throw new UserError('a JSON file must hold a single JSON value', path);
  return { path, text, format, docs: list, lines };
}

function parseDocuments(path: string, text: string, lines: LineCounter): Document.Parsed[] {
  try {
    // uniqueKeys: duplicate keys are silently dropped by the API server; better to refuse them here.
    // merge: `<<` keys are merged, as by sigs.k8s.io/yaml, which kubectl and the API server read YAML with.
    const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: true });
    return Array.isArray(docs) ? docs : [];
  } catch (error) {
    if (error instanceof RangeError) throw new UserError(TOO_DEEP, path);
    throw error;
  }
}

/**
 * Real manifests nest a few dozen levels at most (a CRD's schema perhaps a hundred). Deeper input is
 * refused here, before anything walks it recursively (toJS, the schema validators) and overflows the
 * stack. Walks with its own stack, for the same reason.
 */
export const MAX_DEPTH = 500;
const TOO_DEEP = `nested more than ${MAX_DEPTH} levels deep: not a Kubernetes manifest`;

function tooDeep(root: unknown): Node | undefined {
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (!isCollection(node)) continue;
    if (depth >= MAX_DEPTH) return node;
    for (const item of node.items) {
      if (isPair(item)) stack.push([item.key, depth + 1], [item.value, depth + 1]);
      else stack.push([item, depth + 1]);
    }
  }
  return undefined;
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/** 1-based line of a source offset. */
export function lineOf(source: SourceFile, offset: number): number {
  return source.lines.linePos(offset).line;
}

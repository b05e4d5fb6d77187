/**
 * Reading inputs: files, directories (recursive), stdin. Each becomes a SourceFile holding the exact
 * text and its parsed yaml Documents (with source ranges, which the splicer needs).
 * Malformed input is a UserError with file:line.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { UserError } from '../errors.js';

export type SourceFormat = 'yaml' | 'json';

export interface SourceFile {
  /** As shown to the user: the path given, or `<stdin>`. */
  path: string;
  text: string;
  format: SourceFormat;
  docs: Document.Parsed[];
  lines: LineCounter;
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
  // uniqueKeys: duplicate keys are silently dropped by the API server; better to refuse them here.
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  for (const doc of list) {
    const error = doc.errors[0];
    if (error) {
      const line = lines.linePos(error.pos[0]).line;
      throw new UserError(firstLine(error.message), path, line);
    }
  }
  if (format === 'json' && list.length > 1) throw new UserError('a JSON file must hold a single JSON value', path);
  return { path, text, format, docs: list, lines };
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/** 1-based line of a source offset. */
export function lineOf(source: SourceFile, offset: number): number {
  return source.lines.linePos(offset).line;
}

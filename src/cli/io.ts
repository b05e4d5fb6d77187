/** Side effects at the edge: reading inputs, writing outputs atomically. */
import { mkdir, rename, writeFile, unlink } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { expandPaths, readSource, type SourceFile } from '../manifest/source.js';

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Read all inputs; no paths and piped stdin means stdin. */
export async function readInputs(paths: string[]): Promise<SourceFile[]> {
  let list = paths;
  if (list.length === 0) {
    if (process.stdin.isTTY) throw new UserError('give a file, a directory, or - to read stdin');
    list = ['-'];
  }
  if (list.filter((p) => p === '-').length > 1) throw new UserError('stdin (-) can be read only once');
  const files = await expandPaths(list);
  if (files.length === 0) throw new UserError(`no *.yaml, *.yml or *.json files in ${list.join(', ')}`);
  const sources: SourceFile[] = [];
  for (const file of files) sources.push(await readSource(file, readStdin));
  return sources;
}

/** Write a file atomically: a temp file beside it, then rename, so no reader sees half a file. */
export async function writeAtomic(path: string, text: string, mode?: number): Promise<void> {
  await mkdir(dirname(resolve(path)), { recursive: true });
  const temp = join(dirname(resolve(path)), `.${basename(path)}.sidecarctl-${process.pid}.tmp`);
  try {
    // `mode`: forced (e.g. 0600 for private keys), else the existing file's, else 0644.
    await writeFile(temp, text, { mode: mode ?? (existsSync(path) ? statSync(path).mode : 0o644) });
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new UserError(`cannot write: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, path);
  }
}

/** Join several files' outputs into one YAML stream. */
export function joinStream(texts: string[]): string {
  return texts
    .filter((t) => t.length > 0)
    .map((t, i) => {
      const body = t.endsWith('\n') ? t : t + '\n';
      return i === 0 || /^---/.test(body) ? body : '---\n' + body;
    })
    .join('');
}

/** Where each output goes with `-o DIR`: the input's path relative to the current directory. */
export function outputPathIn(dir: string, source: SourceFile, index: number): string {
  if (source.path === '<stdin>') return join(dir, `stdin-${index}.yaml`);
  const rel = relative(process.cwd(), resolve(source.path));
  return join(dir, rel.startsWith('..') ? basename(source.path) : rel);
}

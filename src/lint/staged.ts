/**
 * `--staged`: the manifests as the next commit will hold them, read from git's index (`git show
 * :path`), not from the working tree, which may hold unstaged edits.
 */
import { execFile } from 'node:child_process';
import { relative, join } from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../errors.js';

const run = promisify(execFile);
const MANIFEST_FILE = /\.(ya?ml|json)$/i;

async function git(args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run('git', args, { cwd, maxBuffer: 256 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new UserError(`--staged: git ${args[0]} failed: ${(e.stderr || e.message).trim().split('\n')[0]}`);
  }
}

export interface StagedFile {
  /** As shown to the user: relative to the current directory. */
  path: string;
  text: string;
}

export async function readStaged(cwd = process.cwd()): Promise<StagedFile[]> {
  const top = (await git(['rev-parse', '--show-toplevel'], cwd)).trim();
  const names = (await git(['diff', '--cached', '--name-only', '--diff-filter=ACMR', '-z'], top)).split('\0').filter((n) => MANIFEST_FILE.test(n));
  const files: StagedFile[] = [];
  for (const name of names) files.push({ path: relative(cwd, join(top, name)) || name, text: await git(['show', `:${name}`], top) });
  return files;
}

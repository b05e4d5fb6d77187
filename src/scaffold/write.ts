/**
 * Writing the profile and the manifests as one unit: every file first goes to a temp file beside its
 * target, then all are renamed in one synchronous loop. Ctrl-C (SIGINT) while the temp files are
 * written removes them and any directory made for them; Ctrl-C during the renames waits for them to
 * finish (a synchronous loop cannot be interrupted by a JavaScript signal handler). Either every file
 * is written or none is, and no file is ever half-written.
 */
import { existsSync, renameSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';

export interface PlannedFile {
  path: string;
  text: string;
}

/** Thrown when SIGINT arrived before the renames: nothing was written. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}

function tempPathFor(path: string): string {
  return join(dirname(resolve(path)), `.${basename(path)}.sidecarctl-${process.pid}.tmp`);
}

export async function writeAll(files: PlannedFile[]): Promise<void> {
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  const temps: string[] = [];
  const madeDirs: string[] = [];
  const rollback = async () => {
    for (const temp of temps) await rm(temp, { force: true });
    for (const dir of madeDirs.reverse()) await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const file of files) {
      const made = await mkdir(dirname(resolve(file.path)), { recursive: true });
      if (made) madeDirs.push(made);
      const temp = tempPathFor(file.path);
      temps.push(temp);
      await writeFile(temp, file.text, { mode: existsSync(file.path) ? statSync(file.path).mode : 0o644 }).catch((error: NodeJS.ErrnoException) => {
        throw new UserError(`cannot write: ${error.code ?? error.message}`, file.path);
      });
      if (interrupted) throw new Interrupted();
    }
    files.forEach((file, i) => renameSync(temps[i]!, file.path));
  } catch (error) {
    await rollback();
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
  }
  // A Ctrl-C that came during the renames is too late to undo anything: everything is written.
}

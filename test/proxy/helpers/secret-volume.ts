/**
 * Mimics how the kubelet writes a Secret/ConfigMap volume:
 *   dir/tls.crt -> ..data/tls.crt, dir/..data -> ..<timestamp>/
 * and how it updates one: a new timestamped directory, then a `..data` symlink renamed over the
 * old one (atomic swap).
 */
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

let generation = 0;

export class SecretVolume {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Writes a new generation of the files and swaps `..data` to it. */
  write(files: Record<string, string>): void {
    const gen = `..gen_${process.pid}_${++generation}`;
    mkdirSync(join(this.dir, gen));
    for (const [name, content] of Object.entries(files)) writeFileSync(join(this.dir, gen, name), content);
    const tmp = join(this.dir, '..data_tmp');
    symlinkSync(gen, tmp);
    renameSync(tmp, join(this.dir, '..data'));
    for (const name of Object.keys(files)) {
      try {
        symlinkSync(join('..data', name), join(this.dir, name));
      } catch {
        // already linked by an earlier generation
      }
    }
  }
}

/** Writing all files or none: a real SIGINT during the write leaves no file and no temp file behind. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Interrupted, writeAll } from '../../src/scaffold/write.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sidecarctl-write-'));
}

describe('writeAll', () => {
  it('writes every file, making directories, keeping an existing file mode-compatible', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.yaml'), 'old\n');
    await writeAll([{ path: join(dir, 'a.yaml'), text: 'new\n' }, { path: join(dir, 'sub/deeper/b.yaml'), text: 'b\n' }]);
    expect(readFileSync(join(dir, 'a.yaml'), 'utf8')).toBe('new\n');
    expect(readFileSync(join(dir, 'sub/deeper/b.yaml'), 'utf8')).toBe('b\n');
    expect(readdirSync(dir).sort()).toEqual(['a.yaml', 'sub']);
  });

  it('SIGINT while the files are written: nothing written, no temp files, new directories removed', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'keep.yaml'), 'old\n');
    const files = [{ path: join(dir, 'keep.yaml'), text: 'new\n' }, ...Array.from({ length: 200 }, (_, i) => ({ path: join(dir, `out/f${i}.yaml`), text: 'x\n'.repeat(1000) }))];
    const writing = writeAll(files);
    process.kill(process.pid, 'SIGINT');
    await expect(writing).rejects.toBeInstanceOf(Interrupted);
    expect(readdirSync(dir)).toEqual(['keep.yaml']);
    expect(readFileSync(join(dir, 'keep.yaml'), 'utf8')).toBe('old\n');
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});

/**
 * What `sidecarctl` loads before it knows the command: commander and the option table, nothing heavy
 * (yaml, templates, protos, prompts, schemas load with the commands that use them). Checked on the
 * built CLI through the CommonJS module cache, where those packages land. No timing here: the
 * benchmark (npm run bench) measures the start against bare node.
 */
import { execa } from 'execa';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/corpus.js';

const HEAVY = ['yaml', 'handlebars', 'ajv', 'protobufjs', '@inquirer', 'kubernetes-models', '@peculiar', '@grpc', 'chalk'];

/** Packages in the module cache after running the CLI with `args` in-process. */
async function packagesLoaded(args: string[]): Promise<string[]> {
  const script = [
    `process.argv = [process.argv[0], 'sidecarctl', ${args.map((a) => JSON.stringify(a)).join(', ')}];`,
    `await import(${JSON.stringify(join(ROOT, 'dist/cli/main.js'))});`,
    `const { createRequire } = await import('node:module');`,
    `process.stderr.write(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`,
  ].join('\n');
  const r = await execa('node', ['--input-type=module', '-e', script], { cwd: ROOT, reject: false });
  const files = JSON.parse(r.stderr.slice(r.stderr.indexOf('['))) as string[];
  const names = files.flatMap((f) => {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f);
    return match ? [match[1]!] : [];
  });
  return [...new Set(names)].sort();
}

describe('cold start', () => {
  it('sidecarctl --version loads commander and nothing heavy', async () => {
    const loaded = await packagesLoaded(['--version']);
    expect(loaded).toContain('commander');
    expect(loaded.filter((p) => HEAVY.some((h) => p.startsWith(h)))).toEqual([]);
  });

  it('sidecarctl inject --help neither', async () => {
    const loaded = await packagesLoaded(['inject', '--help']);
    expect(loaded.filter((p) => HEAVY.some((h) => p.startsWith(h)))).toEqual([]);
  });

  it('(the check sees packages: inject loads yaml and handlebars)', async () => {
    const loaded = await packagesLoaded(['inject', join(ROOT, 'fixtures/web.yaml')]);
    expect(loaded).toEqual(expect.arrayContaining(['yaml', 'handlebars']));
  });
});

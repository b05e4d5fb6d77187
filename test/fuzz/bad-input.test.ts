/**
 * Bad input gets a clear error and nothing else: random and truncated text never crashes inject
 * (in process: many cases; through the real binary: a sample), and hostile YAML (an alias bomb, very
 * deep nesting, a 50 MB file) is dealt with in bounded time and memory, in a child process with a
 * heap limit and a timeout.
 */
import { execa } from 'execa';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { runInjection } from '../../src/inject/run.js';
import { parseSource } from '../../src/manifest/source.js';
import { ROOT } from '../helpers/corpus.js';
import { streamArb, streamText } from './workloads.js';

const BIN = join(ROOT, 'bin/sidecarctl.js');
const WEB = readFileSync(join(ROOT, 'fixtures/web.yaml'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'sidecarctl-bad-input-'));

/** Text that is nearly a manifest: a valid one cut short, with a few bytes changed, or noise. */
const badText = fc.oneof(
  fc.tuple(streamArb, fc.double({ min: 0, max: 1, noNaN: true })).map(([model, cut]) => {
    const text = streamText(model);
    return text.slice(0, Math.floor(text.length * cut));
  }),
  fc.tuple(fc.nat(WEB.length - 1), fc.constantFrom('{', '[', ':', '- ', '&a ', '*a', '!!binary ', '"', "'", '\t', '%YAML 1.1\n', '? ', '|\n', '\n---\n')).map(
    ([at, junk]) => WEB.slice(0, at) + junk + WEB.slice(at),
  ),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: fc.constantFrom('a', ':', ' ', '\n', '-', '[', ']', '{', '}', '"', '#', '&', '*', '!', '|', '>', '?', ','), maxLength: 120 }),
);

function injectText(text: string): void {
  runInjection([parseSource('bad.yaml', text)], { mode: 'inject', profile: [], flags: [] });
}

describe('random and truncated input', () => {
  it('in process: inject succeeds or throws a UserError, nothing else', () => {
    fc.assert(
      fc.property(badText, (text) => {
        try {
          injectText(text);
        } catch (error) {
          expect(error, String((error as Error).stack)).toBeInstanceOf(UserError);
          expect((error as UserError).format()).toMatch(/^bad\.yaml(:\d+)?: \S/);
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 400) },
    );
  });

  it('through the binary: exit 0 with output, or exit 2 with file:line or a message, no trace, nothing on stdout', async () => {
    const samples = fc.sample(badText, { numRuns: 10, seed: 4242 });
    const results = await Promise.all(
      samples.map(async (text, i) => {
        const file = join(dir, `bad-${i}.yaml`);
        writeFileSync(file, text);
        return { text, r: await execa('node', [BIN, 'inject', file], { reject: false, env: { NO_COLOR: '1' } }) };
      }),
    );
    let refused = 0;
    for (const { text, r } of results) {
      const what = `${JSON.stringify(text.slice(0, 200))}\n${r.stderr}`;
      expect([0, 2], what).toContain(r.exitCode);
      expect(r.stderr, what).not.toMatch(/internal error|\n\s+at /);
      if (r.exitCode === 2) {
        refused++;
        expect(r.stdout, what).toBe('');
        expect(r.stderr, what).toMatch(/^sidecarctl: .*bad-\d+\.yaml(:\d+)?: \S/);
      }
    }
    // The sample is mostly broken: most of it must have been refused.
    expect(refused).toBeGreaterThan(samples.length / 3);
  });
});

/** Run inject in a child with a heap limit and a deadline; the deadline is far above the normal time. */
async function boundedInject(name: string, text: string, heapMb = 256) {
  const file = join(dir, name);
  writeFileSync(file, text);
  const start = Date.now();
  const r = await execa('node', [`--max-old-space-size=${heapMb}`, BIN, 'inject', file], { reject: false, timeout: 60_000, env: { NO_COLOR: '1' }, stdout: 'ignore' });
  return { ...r, seconds: (Date.now() - start) / 1000 };
}

describe('hostile input is bounded', () => {
  it('an alias bomb (billion laughs) is refused', async () => {
    let text = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    for (let i = 1; i < 10; i++) text += `  a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(',')}]\n`;
    const r = await boundedInject('bomb.yaml', text);
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^sidecarctl: .*bomb\.yaml:\d+: .*alias/i);
  });

  it('10,000 levels of nesting are refused, block or flow', async () => {
    for (const [name, text] of [
      ['deep-flow.yaml', '['.repeat(10_000) + ']'.repeat(10_000) + '\n'],
      ['deep-block.yaml', Array.from({ length: 10_000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' 1\n'],
    ]) {
      const r = await boundedInject(name!, text!);
      expect(r.timedOut, name).toBe(false);
      expect(r.exitCode, `${name}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^sidecarctl: .*${name}:\\d+: nested more than \\d+ levels deep`));
    }
  });

  it('a 50 MB manifest is injected within a 512 MB heap', async () => {
    // One Deployment and a ConfigMap holding 50 MB: big enough to find copies of the text per edit.
    const line = `    ${'x'.repeat(95)}\n`;
    const text = `${WEB}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  blob: |\n${line.repeat(Math.ceil(50e6 / line.length))}`;
    const r = await boundedInject('big.yaml', text, 512);
    expect(r.timedOut).toBe(false);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('injected Deployment/shop/web');
  });
});

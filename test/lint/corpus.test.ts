/**
 * Every real manifest of the corpus, injected by sidecarctl, lints no worse than it went in: inject
 * adds no finding of its own. The one kind of new finding allowed is a Service that inject itself
 * left pointing at the app and said so in its report (service-bypass is then exactly right).
 */
import { describe, expect, it } from 'vitest';
import { CORPUS, filesUnder, inject, load } from '../helpers/corpus.js';
import { parseSource } from '../../src/manifest/source.js';
import { UserError } from '../../src/errors.js';
import { lint } from './helpers.js';

describe('lint on the corpus', () => {
  it('inject output adds no findings to its input', async () => {
    let linted = 0;
    const added: string[] = [];
    for (const path of filesUnder(CORPUS)) {
      let input;
      try {
        input = load(path);
      } catch (error) {
        if (error instanceof UserError) continue; // malformed on purpose: inject refuses it too
        throw error;
      }
      let result;
      try {
        result = inject(input);
      } catch (error) {
        if (error instanceof UserError) continue; // refused with file:line by inject (its own tests cover it)
        throw error;
      }
      const output = parseSource(path, result.files[0]!.text);
      const key = (f: { rule: string; message: string }) => `${f.rule}: ${f.message}`;
      const before = new Set((await lint([input])).map(key));
      const notes = result.reports.flatMap((r) => r.notes).join('\n');
      for (const f of await lint([output])) {
        if (before.has(key(f))) continue;
        const service = /^Service (\S+) port/.exec(f.message)?.[1];
        const reported = f.rule === 'service-bypass' && notes.split('\n').some((n) => n.includes(`Service/${service} `) && n.includes('targetPort is left alone'));
        if (!reported) added.push(`${path}:${f.line}: ${key(f)}`);
      }
      linted++;
    }
    expect(linted).toBeGreaterThan(100);
    expect(added).toEqual([]);
  });
});

/** Cases the property tests found, kept as plain examples so they stay fixed. */
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { MAX_DEPTH, parseSource } from '../../src/manifest/source.js';
import { applyTextEdits } from '../../src/manifest/yaml-splice.js';
import { inject, schemaIssues, uninject } from '../helpers/corpus.js';

function roundTrip(text: string): string {
  const out = inject(parseSource('case.yaml', text)).files[0]!.text;
  expect(inject(parseSource('case.yaml', out)).files[0]!.text).toBe(out);
  expect(uninject(parseSource('case.yaml', out)).files[0]!.text).toBe(text);
  expect(schemaIssues(out)).toEqual([]);
  return out;
}

describe('found by the property tests', () => {
  it('a Service targetPort written as a block scalar keeps its line break (it used to join the next line)', () => {
    const text = [
      'apiVersion: v1',
      'kind: Service',
      'metadata:',
      '  name: a',
      'spec:',
      '  selector: {app: a}',
      '  ports:',
      '    - port: 80',
      '      targetPort: >-',
      '        http',
      '---',
      'apiVersion: v1',
      'kind: Pod',
      'metadata: {name: a, labels: {app: a}}',
      'spec:',
      '  containers:',
      '    - name: a',
      '      image: nginx:1.27',
      '      ports: [{name: http, containerPort: 8080}]',
      '',
    ].join('\n');
    const out = roundTrip(text);
    expect(out).toContain('      targetPort: 15006\n---\n');
  });

  it('a workload written as one flow map: the two keys inject added at its end are removed together', () => {
    const text = '{apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {containers: [{name: a, image: "nginx:1.27", ports: [{containerPort: 8080}]}]}}\n';
    const out = roundTrip(text);
    expect(out).toMatch(/"initContainers": \[.*\], "volumes": \[/);
  });
});

describe('applyTextEdits', () => {
  it('applies inserts at one offset deepest first, then in order, and replacements around them', () => {
    const edits = [
      { start: 3, end: 3, text: 'B', column: 2 },
      { start: 3, end: 3, text: 'C', column: 2 },
      { start: 3, end: 3, text: 'A', column: 4 },
      { start: 0, end: 1, text: 'x' },
      { start: 5, end: 6, text: '' },
    ];
    expect(applyTextEdits('abcdefg', edits)).toBe('xbcABCdeg');
  });

  it('refuses overlapping edits', () => {
    expect(() => applyTextEdits('abcdef', [{ start: 1, end: 4, text: '' }, { start: 2, end: 5, text: '' }])).toThrow(/overlapping/);
  });
});

describe('deep nesting', () => {
  it(`is refused past ${MAX_DEPTH} levels with file:line, not a stack overflow`, () => {
    const deep = Array.from({ length: MAX_DEPTH + 5 }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' 1\n';
    const run = () => parseSource('deep.yaml', deep);
    expect(run).toThrow(UserError);
    expect(() => run()).toThrow(/nested more than 500 levels/);
    try {
      run();
    } catch (error) {
      expect((error as UserError).format()).toMatch(/^deep\.yaml:\d+: /);
    }
  });

  it(`is accepted up to ${MAX_DEPTH} levels`, () => {
    const ok = Array.from({ length: MAX_DEPTH - 1 }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' 1\n';
    expect(parseSource('ok.yaml', ok).docs).toHaveLength(1);
  });
});

/**
 * Properties of inject and uninject on generated manifests written every way YAML allows (see
 * workloads.ts), and as JSON every way people write it (json-text.ts): inject is idempotent, uninject
 * gives back the input byte for byte, and inject adds no schema issue.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSource } from '../../src/manifest/source.js';
import type { SettingsLayer } from '../../src/settings/resolve.js';
import { inject, schemaIssues, uninject } from '../helpers/corpus.js';
import { streamArb, streamText } from './workloads.js';
import { jsonStreamText } from './json-text.js';

/** More runs find more: FUZZ_RUNS=1000 npx vitest run test/fuzz (the default keeps the suite quick). */
const RUNS = Number(process.env.FUZZ_RUNS ?? 60);

const VARIANTS: [string, SettingsLayer][] = [
  ['defaults', []],
  ['plain-container sidecars, retries', [
    { key: 'native-sidecar', value: false, flag: '--no-native-sidecar' },
    { key: 'retries', value: '2', flag: '--retries' },
  ]],
  // Log shippers mount a volume into the app container: edits inside the containers too.
  ['fluent-bit beside envoy', [{ key: 'logging', value: 'fluent-bit', flag: '--logging' }]],
  ['fluentd, no proxy', [
    { key: 'proxy', value: 'none', flag: '--proxy' },
    { key: 'logging', value: 'fluentd', flag: '--logging' },
  ]],
];

/** Issue text without list indexes: our sidecar goes first among init containers and shifts them. */
const withoutIndexes = (issue: string) => issue.replace(/\[\d+\]/g, '[]');

describe('generated manifests', () => {
  it('are valid YAML that parses to the objects (the generator itself)', () => {
    fc.assert(
      fc.property(streamArb, (model) => {
        const source = parseSource('gen.yaml', streamText(model));
        expect(source.docs.length).toBeGreaterThanOrEqual(model.workloads.length);
      }),
      { numRuns: RUNS },
    );
  });

  for (const [variant, flags] of VARIANTS) {
    it(`${variant}: inject is idempotent, uninject round-trips, the output is schema-valid`, () => {
      fc.assert(
        fc.property(streamArb, (model) => {
          const text = streamText(model);
          const result = inject(parseSource('gen.yaml', text), flags);
          const out = result.files[0]!.text;
          expect(result.reports.length).toBe(model.workloads.length);
          // Something injected changes the text; nothing injected leaves it exactly as it was.
          if (result.reports.some((r) => r.action === 'injected')) expect(out).not.toBe(text);
          else expect(out).toBe(text);

          expect(inject(parseSource('gen.yaml', out), flags).files[0]!.text).toBe(out);
          expect(uninject(parseSource('gen.yaml', out)).files[0]!.text).toBe(text);

          const before = new Set(schemaIssues(text).map(withoutIndexes));
          expect(schemaIssues(out).filter((i) => !before.has(withoutIndexes(i)))).toEqual([]);
        }),
        { numRuns: RUNS },
      );
    }, Math.max(60_000, RUNS * 1_000));
  }

  for (const [variant, flags] of VARIANTS) {
    it(`JSON, ${variant}: valid JSON out, idempotent, uninject gives back the hand-formatted text byte for byte`, () => {
      fc.assert(
        fc.property(streamArb, (model) => {
          const text = jsonStreamText(model);
          const result = inject(parseSource('gen.json', text), flags);
          const out = result.files[0]!.text;
          expect(() => JSON.parse(out) as unknown).not.toThrow();
          if (result.reports.some((r) => r.action === 'injected')) expect(out).not.toBe(text);
          else expect(out).toBe(text);
          expect(inject(parseSource('gen.json', out), flags).files[0]!.text).toBe(out);
          expect(uninject(parseSource('gen.json', out)).files[0]!.text).toBe(text);
          const before = new Set(schemaIssues(text).map(withoutIndexes));
          expect(schemaIssues(out).filter((i) => !before.has(withoutIndexes(i)))).toEqual([]);
        }),
        { numRuns: RUNS },
      );
    }, Math.max(60_000, RUNS * 1_000));
  }

  it('JSON written by hand: a List with one-line metadata comes back byte for byte', () => {
    const text = [
      '{',
      '  "apiVersion": "v1", "kind": "List",',
      '  "items": [',
      '    {',
      '      "apiVersion": "apps/v1", "kind": "Deployment",',
      '      "metadata": {"name": "pricing", "labels": {"app": "pricing", "tier": "backend"}},',
      '      "spec": {',
      '        "selector": {"matchLabels": {"app": "pricing"}},',
      '        "template": {',
      '          "metadata": {"labels": {"app": "pricing"}},',
      '          "spec": {"containers": [{"name": "pricing", "image": "ghcr.io/acme/pricing:2.1.0", "ports": [{"containerPort": 8080}]}]}',
      '        }',
      '      }',
      '    },',
      '    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "pricing"}, "spec": {"selector": {"app": "pricing"}, "ports": [{"port": 80, "targetPort": 8080}]}}',
      '  ]',
      '}',
      '',
    ].join('\n');
    const flags: SettingsLayer = [
      { key: 'retries', value: '2', flag: '--retries' },
      { key: 'logging', value: 'fluent-bit', flag: '--logging' },
    ];
    const out = inject(parseSource('list.json', text), flags).files[0]!.text;
    // Outside the edits, the user's lines are still there as written.
    expect(out).toContain('      "metadata": {"name": "pricing", "labels": {"app": "pricing", "tier": "backend"}},\n');
    expect(out).toContain('"ports": [{"port": 80, "targetPort": 15006}]');
    expect(schemaIssues(out)).toEqual([]);
    expect(uninject(parseSource('list.json', out)).files[0]!.text).toBe(text);
  });
});

/**
 * inject and uninject on every real-world manifest in ../shared/corpus and on our fixtures: each
 * workload injected or skipped with a reason, output schema-valid, Envoy configs valid, idempotent,
 * comments kept, and uninject giving back the input byte for byte.
 */
import { SKIP } from '../../src/inject/skips.js';
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { UserError } from '../../src/errors.js';
import { parseSource } from '../../src/manifest/source.js';
import type { SettingsLayer } from '../../src/settings/resolve.js';
import { commentLines, CORPUS, envoyIssues, filesUnder, inject, load, loggingIssues, objectsOfText, podContainers, proxyConfigIssues, ROOT, schemaIssues, uninject } from '../helpers/corpus.js';

const KNOWN_SKIPS = new Set<string>(Object.values(SKIP));

const MALFORMED = 'inject_gettest_deployment.bad.input.yml';
const inputs = [...filesUnder(CORPUS), ...filesUnder(join(ROOT, 'fixtures'))];
const wellFormed = inputs.filter((f) => !f.endsWith(MALFORMED));

const FULL_FEATURED: SettingsLayer = [
  { key: 'retries', value: '3', flag: '--retries' },
  { key: 'per-try-timeout', value: '250ms', flag: '--per-try-timeout' },
  { key: 'timeout', value: '2s', flag: '--timeout' },
  { key: 'rate-limit', value: '100', flag: '--rate-limit' },
  { key: 'burst', value: '200', flag: '--burst' },
  { key: 'upstream', value: 'payments=payments.prod.svc.cluster.local:8080@19080', flag: '--upstream' },
];

const FLUENT_BIT_ES: SettingsLayer = [
  { key: 'logging', value: 'fluent-bit', flag: '--logging' },
  { key: 'log-output', value: 'es://elasticsearch.logging:9200', flag: '--log-output' },
];

const FLUENTD_LOKI_NO_PROXY: SettingsLayer = [
  { key: 'proxy', value: 'none', flag: '--proxy' },
  { key: 'logging', value: 'fluentd', flag: '--logging' },
  { key: 'log-output', value: 'loki://loki.monitoring:3100', flag: '--log-output' },
];

const BUNDLED: SettingsLayer = [
  { key: 'proxy', value: 'bundled', flag: '--proxy' },
  { key: 'retries', value: '2', flag: '--retries' },
  { key: 'rate-limit', value: '50', flag: '--rate-limit' },
  { key: 'logging', value: 'fluent-bit', flag: '--logging' },
];

const VARIANTS: [string, SettingsLayer][] = [
  ['defaults', []],
  ['retries, rate limit, upstream', FULL_FEATURED],
  ['fluent-bit to elasticsearch, with envoy', FLUENT_BIT_ES],
  ['fluentd to loki, no proxy', FLUENTD_LOKI_NO_PROXY],
  ['bundled proxy and fluent-bit', BUNDLED],
];

describe('corpus', () => {
  it('holds the inputs we expect', () => {
    expect(inputs.length).toBeGreaterThan(130);
  });

  it(`refuses the malformed ${MALFORMED} with file:line`, () => {
    const path = inputs.find((f) => f.endsWith(MALFORMED))!;
    const run = () => inject(load(path));
    expect(run).toThrow(UserError);
    try {
      run();
    } catch (error) {
      expect((error as UserError).format()).toMatch(new RegExp(`${MALFORMED}:36: All mapping items must start at the same column`));
    }
  });

  let injectedTotal = 0;
  for (const [variant, flags] of VARIANTS) {
    describe(variant, () => {
      for (const file of wellFormed) {
        const name = file.slice(file.indexOf('/', ROOT.length - 1) + 1);
        it(name, async () => {
          const source = load(file);
          const result = inject(source, flags);
          const out = result.files[0]!.text;

          // Every workload was handled on purpose: injected, or skipped with a reason.
          for (const report of result.reports) {
            // Skipped on purpose: with a known code (src/inject/skips.ts) and a sentence.
            expect(report.action === 'injected' || (report.action === 'skipped' && KNOWN_SKIPS.has(report.skip!) && report.reason!.length > 10), `${report.object}: ${report.action} ${report.skip}`).toBe(true);
          }
          injectedTotal += result.reports.filter((r) => r.action === 'injected').length;

          // Valid: inject adds no schema issue (a few inputs have their own; those must stay as they were).
          // (Indexes are dropped from the comparison: our sidecar goes first among init containers.)
          const withoutIndexes = (issue: string) => issue.replace(/\[\d+\]/g, '[]');
          const before = new Set(schemaIssues(source.text).map(withoutIndexes));
          expect(schemaIssues(out).filter((i) => !before.has(withoutIndexes(i)))).toEqual([]);
          const envoy = await envoyIssues(out);
          expect(envoy.issues).toEqual([]);
          const logging = loggingIssues(out);
          expect(logging.issues).toEqual([]);
          // One config per injected workload and sidecar that runs it.
          const containers = objectsOfText(out).flatMap(podContainers).map((c) => String(c.name));
          expect(envoy.configs).toBe(containers.filter((n) => n === 'sidecarctl-envoy').length);
          const proxy = proxyConfigIssues(out);
          expect(proxy.issues).toEqual([]);
          expect(proxy.configs).toBe(containers.filter((n) => n === 'sidecarctl-proxy').length);
          expect(logging.fluentBit + logging.fluentd).toBe(containers.filter((n) => n === 'sidecarctl-fluent-bit' || n === 'sidecarctl-fluentd').length);

          // Comments kept; idempotent; uninject restores every byte.
          if (source.format === 'yaml') for (const comment of commentLines(source.text)) expect(out).toContain(comment);
          expect(inject(parseSource(file, out), flags as SettingsLayer).files[0]!.text).toBe(out);
          expect(uninject(parseSource(file, out)).files[0]!.text).toBe(source.text);
        });
      }
    });
  }

  it('injected most workloads', () => {
    // 5 variants; the rest are skipped on purpose (other meshes, hostNetwork, no port to proxy).
    expect(injectedTotal).toBeGreaterThan(400);
  });
});

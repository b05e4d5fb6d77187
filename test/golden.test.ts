/**
 * Golden files: the exact output for the fixtures, so any change to generated manifests shows up in
 * review. Refresh with UPDATE_GOLDEN=1 after checking the diff. Each golden must also pass the schemas.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SettingsLayer } from '../src/settings/resolve.js';
import { envoyIssues, filesUnder, inject, load, ROOT, schemaIssues } from './helpers/corpus.js';

const CASES: { name: string; flags: SettingsLayer }[] = [
  { name: 'defaults', flags: [] },
  {
    name: 'policies',
    flags: [
      { key: 'retries', value: '3', flag: '--retries' },
      { key: 'per-try-timeout', value: '250ms', flag: '--per-try-timeout' },
      { key: 'rate-limit', value: '100', flag: '--rate-limit' },
      { key: 'upstream', value: 'api=api.default.svc.cluster.local:8080@19000', flag: '--upstream' },
      { key: 'native-sidecar', value: false, flag: '--no-native-sidecar' },
    ],
  },
];

describe('golden outputs', () => {
  for (const file of filesUnder(join(ROOT, 'fixtures'))) {
    for (const { name, flags } of CASES) {
      const golden = join(ROOT, 'test/golden', `${basename(file).replace(/\.(ya?ml|json)$/, '')}.${name}${file.endsWith('.json') ? '.json' : '.yaml'}`);
      it(`${basename(file)} (${name})`, async () => {
        const result = inject(load(file), flags);
        const out = result.files[0]!.text;
        // Goldens are written only when asked (UPDATE_GOLDEN=1): a missing one fails, so the test
        // never compares the output with itself.
        if (process.env.UPDATE_GOLDEN) writeFileSync(golden, out);
        expect(existsSync(golden), `${golden} is missing: run UPDATE_GOLDEN=1 npx vitest run test/golden.test.ts and review it`).toBe(true);
        expect(out).toBe(readFileSync(golden, 'utf8'));
        expect(schemaIssues(out)).toEqual([]);
        const envoy = await envoyIssues(out);
        expect(envoy.configs).toBe(result.reports.filter((r) => r.action === 'injected').length);
        expect(envoy.issues).toEqual([]);
      });
    }
  }
});

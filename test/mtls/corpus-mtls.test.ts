/**
 * The whole corpus with strict mTLS from a cert-manager ClusterIssuer (and an mTLS upstream): valid for
 * Kubernetes (Certificates included) and Envoy (SDS files included), idempotent, and uninject gives
 * back every byte, Certificates removed.
 */
import { describe, expect, it } from 'vitest';
import { parseSource } from '../../src/manifest/source.js';
import { CORPUS, envoyIssues, filesUnder, inject, load, objectsOfText, schemaIssues, uninject } from '../helpers/corpus.js';
import { flags, sdsIssues } from './helpers.js';

const MALFORMED = 'inject_gettest_deployment.bad.input.yml';
const STRICT = flags(
  ['mtls', 'strict'],
  ['mtls-issuer', 'clusterissuer/mesh-ca'],
  ['allow-peer', 'frontend'],
  ['upstream', 'payments=payments.prod.svc.cluster.local:8080@19080'],
  ['upstream-mtls', 'payments=prod/payments'],
);

describe('corpus with --mtls strict --mtls-issuer clusterissuer/mesh-ca', () => {
  let certificates = 0;
  for (const file of filesUnder(CORPUS).filter((f) => !f.endsWith(MALFORMED))) {
    it(file.slice(CORPUS.length + 1), async () => {
      const source = load(file);
      const result = inject(source, STRICT);
      const out = result.files[0]!.text;
      const injected = result.reports.filter((r) => r.action === 'injected').length;

      const withoutIndexes = (issue: string) => issue.replace(/\[\d+\]/g, '[]');
      const before = new Set(schemaIssues(source.text).map(withoutIndexes));
      expect(schemaIssues(out).filter((i) => !before.has(withoutIndexes(i)))).toEqual([]);
      expect(await envoyIssues(out)).toEqual({ configs: injected, issues: [] });
      const objects = objectsOfText(out);
      for (const cm of objects.filter((o) => o.kind === 'ConfigMap' && (o.data as Record<string, string>)?.['envoy.yaml'])) {
        expect(await sdsIssues(cm.data as Record<string, string>)).toEqual({ files: 2, issues: [] });
      }
      // One Certificate per injected workload, beside it (same namespace as its ConfigMap).
      const made = objects.filter((o) => o.kind === 'Certificate');
      expect(made).toHaveLength(injected);
      certificates += made.length;

      expect(inject(parseSource(file, out), STRICT).files[0]!.text).toBe(out);
      const back = uninject(parseSource(file, out)).files[0]!.text;
      expect(back).toBe(source.text);
    });
  }

  it('made certificates for most of the corpus', () => {
    expect(certificates).toBeGreaterThan(70);
  });
});

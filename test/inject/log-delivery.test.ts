/**
 * What the real agents did with our configs (found by running Fluent Bit 5.1 and Fluentd 1.19 end
 * to end): the settings that keep logs from being lost, shipped twice or blocking the pod. These
 * pin the settings and run everywhere; test/logging/real-agents.test.ts runs the agents themselves
 * where SIDECARCTL_FLUENT_BIT / SIDECARCTL_FLUENTD name them.
 */
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import type { SettingsLayer } from '../../src/settings/resolve.js';
import { inject, load, loggingIssues, objectsOfText, podContainers, ROOT } from '../helpers/corpus.js';
import { FLUENTD_LIMITS, fluentdMemoryLimit } from '../../src/sidecars/logging/fluentd.js';

const WEB = join(ROOT, 'fixtures/web.yaml');
const layer = (...pairs: [string, string][]): SettingsLayer => pairs.map(([key, value]) => ({ key, value, flag: `--${key}` }));

function configOf(out: string, key: string): string {
  const cm = objectsOfText(out).find((o) => o.kind === 'ConfigMap') as { data: Record<string, string> };
  return cm.data[key]!;
}

describe('log delivery settings', () => {
  it('Fluent Bit forwards in the plain Forward protocol a Fluentd receiver accepts (no event metadata)', () => {
    const out = inject(load(WEB), layer(['logging', 'fluent-bit'], ['log-output', 'forward://fluentd.logging:24224'])).files[0]!.text;
    const forward = (parse(configOf(out, 'fluent-bit.yaml')) as any).pipeline.outputs.find((o: any) => o.name === 'forward');
    expect(forward.retain_metadata_in_forward_mode).toBe(false);
    expect(loggingIssues(out).issues).toEqual([]);
  });

  it("Fluentd keeps its own log events out of the catch-all output (@FLUENT_LOG), and the output after it", () => {
    const conf = configOf(inject(load(WEB), layer(['logging', 'fluentd'], ['log-output', 'forward://fluentd.logging:24224'])).files[0]!.text, 'fluent.conf');
    const label = conf.indexOf('<label @FLUENT_LOG>');
    expect(label).toBeGreaterThan(0);
    expect(conf.slice(label, conf.indexOf('</label>', label))).toMatch(/<match fluent\.\*\*>\s+@type null/);
    expect(conf.indexOf('<match **>')).toBeGreaterThan(label);
  });

  it('Fluentd never blocks or crash-loops the pod on an unreachable backend', () => {
    const forward = configOf(inject(load(WEB), layer(['logging', 'fluentd'], ['log-output', 'forward://not-yet.logging:24224'])).files[0]!.text, 'fluent.conf');
    expect(forward).toMatch(/@type forward\n\s+# .*\n\s+ignore_network_errors_at_startup true/);
    const es = inject(load(WEB), layer(['logging', 'fluentd'], ['log-output', 'es://es.logging:9200'])).files[0]!.text;
    const conf = configOf(es, 'fluent.conf');
    expect(conf).toContain('verify_es_version_at_startup false');
    expect(conf).toContain('default_elasticsearch_version 8');
    expect(loggingIssues(es).issues).toEqual([]);
  });

  it('Fluentd to Elasticsearch holds at most 2 MB chunks and bulk bodies, and its memory limit follows from them (the 10k lines/s peak: npm run bench:logging)', () => {
    const es = inject(load(WEB), layer(['logging', 'fluentd'], ['log-output', 'es://es.logging:9200'])).files[0]!.text;
    const conf = configOf(es, 'fluent.conf');
    expect(conf).toContain('bulk_message_request_threshold "2m"');
    expect(conf).toContain('chunk_limit_size "2m"');
    const shipper = podContainers(objectsOfText(es).find((o) => o.kind === 'Deployment')!).find((c) => c.name === 'sidecarctl-fluentd')!;
    expect((shipper.resources as { limits: { memory: string } }).limits.memory).toBe(fluentdMemoryLimit());
    expect(fluentdMemoryLimit({ ...FLUENTD_LIMITS, chunkBytes: 8 * 1024 * 1024 })).not.toBe(fluentdMemoryLimit());
  });

  it('a ** log path is refused for Fluent Bit (it reads ** as one level) and taken by Fluentd', () => {
    const path = ['log-path', '/var/log/app/**/*.log'] as [string, string];
    expect(() => inject(load(WEB), layer(['logging', 'fluent-bit'], path))).toThrow(UserError);
    expect(() => inject(load(WEB), layer(['logging', 'fluent-bit'], path))).toThrow(/--log-path: Fluent Bit does not read \*\* as "any depth"/);
    const out = inject(load(WEB), layer(['logging', 'fluentd'], path)).files[0]!.text;
    expect(configOf(out, 'fluent.conf')).toContain('path "/var/log/app/**/*.log"');
  });

  it('--log-multiline: each agent gets its own multiline parser for the language, valid for its validator; none by default', () => {
    for (const language of ['java', 'go', 'python']) {
      const fb = inject(load(WEB), layer(['logging', 'fluent-bit'], ['log-multiline', language])).files[0]!.text;
      const tail = (parse(configOf(fb, 'fluent-bit.yaml')) as any).pipeline.inputs.find((i: any) => i.name === 'tail');
      expect(tail['multiline.parser']).toBe(language);
      expect(loggingIssues(fb).issues).toEqual([]);
      const fd = inject(load(WEB), layer(['logging', 'fluentd'], ['log-multiline', language])).files[0]!.text;
      const conf = configOf(fd, 'fluent.conf');
      expect(conf).toMatch(/@type multiline\n\s+format_firstline "\/\^\(\?!/);
      expect(conf).toContain('multiline_flush_interval 5s');
      expect(loggingIssues(fd).issues).toEqual([]);
    }
    const plain = configOf(inject(load(WEB), layer(['logging', 'fluentd'])).files[0]!.text, 'fluent.conf');
    expect(plain).not.toContain('multiline');
    expect(() => inject(load(WEB), layer(['logging', 'fluentd'], ['log-multiline', 'ruby']))).toThrow(/"ruby" is not one of none, java, go, python/);
  });
});

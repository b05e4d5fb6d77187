/**
 * lint's warnings for configs the agents accept but that lose or mangle logs when run (each found
 * with the real Fluent Bit 5.1 and Fluentd 1.19): planted in hand-written configs, found at their
 * line; the fixed config (and every config inject writes: test/inject/logging.test.ts) has none.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fluentBitDeliveryIssues, fluentdDeliveryIssues } from '../../src/lint/fluent-delivery.js';
import { ROOT } from '../helpers/corpus.js';
import { lintText } from './helpers.js';

const FLUENTD_BAD = `<source>
  @type tail
  path /var/log/app/*.log
  pos_file /var/log/app.pos
  tag app.*
  <parse>
    @type json
  </parse>
</source>
<match **>
  @type elasticsearch
  host es
  <buffer>
    @type file
    path /var/log/buffer
  </buffer>
</match>
`;

const FLUENTD_FIXED = `<source>
  @type tail
  path /var/log/app/*.log
  pos_file /var/log/app.pos
  tag app.*
  <parse>
    @type json
    time_type string
    time_format %iso8601
  </parse>
</source>
<label @FLUENT_LOG>
  <match fluent.**>
    @type null
  </match>
</label>
<match **>
  @type elasticsearch
  host es
  bulk_message_request_threshold 2m
  <buffer>
    @type file
    path /var/log/buffer
    chunk_limit_size 2m
    total_limit_size 256m
  </buffer>
</match>
`;

describe('Fluentd', () => {
  it('finds the unparsed time, the catch-all match, the unbounded buffer and the oversized bulk at their lines', () => {
    const found = fluentdDeliveryIssues(FLUENTD_BAD).map((f) => `${f.line} ${f.message.split(':')[0]}`);
    expect(found.sort()).toEqual(['10 <match **> also catches Fluentd\'s own fluent.* events (its whole config dump is shipped, and the top-level catch is deprecated for them)', '11 elasticsearch output with chunks over 4 MB (the default is 8 MB) and no bulk_message_request_threshold', '13 <buffer> without total_limit_size', '6 json parse without time_format or time_type'].sort());
  });

  it('has nothing to say of the fixed config', () => {
    expect(fluentdDeliveryIssues(FLUENTD_FIXED)).toEqual([]);
  });

  it('reads time_key "" as keeping the time a field (what inject writes)', () => {
    expect(fluentdDeliveryIssues('<filter a.**>\n  @type parser\n  key_name log\n  <parse>\n    @type json\n    time_key ""\n  </parse>\n</filter>\n')).toEqual([]);
  });
});

describe('Fluent Bit', () => {
  const bad = {
    service: { 'storage.path': '/var/lib/fb' },
    pipeline: {
      inputs: [{ name: 'tail', path: '/var/log/app/**/*.log', 'storage.type': 'filesystem' }],
      outputs: [{ name: 'forward', host: 'fluentd', port: 24224 }, { name: 'stdout', match: '*' }],
    },
  };

  it('finds ** in a tail path, forward with event metadata, and an output with no storage limit', () => {
    const found = fluentBitDeliveryIssues(bad).map((f) => `${f.path.join('.')} ${f.message.split(':')[0]}`);
    expect(found).toEqual([
      'pipeline.inputs.0.path tail path /var/log/app/**/*.log',
      'pipeline.outputs.0.name forward output without retain_metadata_in_forward_mode',
      'pipeline.outputs.0.name forward output without storage.total_limit_size',
    ]);
  });

  it('has nothing to say once fixed (property names in any case)', () => {
    const fixed = { ...bad, pipeline: { inputs: [{ Name: 'tail', Path: '/var/log/app/*.log' }], outputs: [{ Name: 'forward', Retain_Metadata_In_Forward_Mode: 'off', 'Storage.Total_Limit_Size': '256M' }] } };
    expect(fluentBitDeliveryIssues(fixed)).toEqual([]);
  });
});

describe('through lint, in a ConfigMap a Fluentd sidecar mounts', () => {
  it('are warnings of fluentd-config at the config line in the file', async () => {
    const indented = FLUENTD_BAD.split('\n').map((l) => (l ? `    ${l}` : l)).join('\n');
    const file = `apiVersion: v1
kind: ConfigMap
metadata:
  name: shipper
data:
  fluent.conf: |
${indented}---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  selector:
    matchLabels: {app: a}
  template:
    metadata:
      labels: {app: a}
    spec:
      containers:
      - name: app
        image: app:1.0
      - name: fluentd
        image: fluent/fluentd:v1.19.3-debian-2.2
        volumeMounts:
        - {name: conf, mountPath: /fluentd/etc}
      volumes:
      - name: conf
        configMap: {name: shipper}
`;
    const all = (await lintText(join(ROOT, 'x.yaml'), file)).filter((f) => f.rule === 'fluentd-config');
    // (and the error that the plain image has no elasticsearch plugin)
    expect(all.filter((f) => f.severity === 'error').map((f) => f.message)).toEqual([expect.stringMatching(/elasticsearch/)]);
    const findings = all.filter((f) => f.severity === 'warning');
    expect(findings).toHaveLength(4);
    const lines = file.split('\n');
    expect(findings.map((f) => lines[f.line - 1]!.trim()).sort()).toEqual(['<buffer>', '<match **>', '<parse>', '@type elasticsearch'].sort());
  });
});

describe('no false alarms', () => {
  it('a match fluent.* (or among other patterns) before the catch-all handles Fluentd\'s own events; after it, it does not', () => {
    const catchAll = (before: string, after = '') => `${before}<match **>\n  @type stdout\n</match>\n${after}`;
    const said = (text: string) => fluentdDeliveryIssues(text).filter((f) => f.message.startsWith('<match **>')).length;
    expect(said(catchAll('<match fluent.*>\n  @type null\n</match>\n'))).toBe(0);
    expect(said(catchAll('<match app.** fluent.**>\n  @type null\n</match>\n'))).toBe(0);
    expect(said(catchAll('', '<match fluent.**>\n  @type null\n</match>\n'))).toBe(1);
  });

  it('reads sizes as Fluentd does (2MiB is 2 MB)', () => {
    const es = (chunk: string) => `<match app.**>\n  @type elasticsearch\n  <buffer>\n    chunk_limit_size ${chunk}\n    total_limit_size 256m\n  </buffer>\n</match>\n`;
    expect(fluentdDeliveryIssues(es('2MiB'))).toEqual([]);
    expect(fluentdDeliveryIssues(es('8MB')).map((f) => f.line)).toEqual([2]);
  });

  it('asks for an output storage limit only where an input buffers on disk, and skips entries without a name', () => {
    const config = (storageType?: string) => ({ service: { 'storage.path': '/var/lib/fb' }, pipeline: { inputs: [{ name: 'tail', path: '/a/*.log', ...(storageType ? { 'storage.type': storageType } : {}) }], outputs: [null, { name: 'es', host: 'es' }] } });
    expect(fluentBitDeliveryIssues(config())).toEqual([]);
    expect(fluentBitDeliveryIssues(config('filesystem')).map((f) => f.path.join('.'))).toEqual(['pipeline.outputs.1.name']);
  });
});

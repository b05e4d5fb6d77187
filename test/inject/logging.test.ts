/**
 * Log shippers on the fixtures: each agent x each output x with and without a proxy. The pods must
 * be schema-valid, the agent configs valid for the pinned agent and image, the volumes wired the way
 * the issue asks (shared log dir, read-only in the shipper, writable state), and inject/uninject
 * must stay idempotent and byte-exact.
 */
import { SKIP } from '../../src/inject/skips.js';
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { parse } from 'yaml';
import { UserError } from '../../src/errors.js';
import { runInjection } from '../../src/inject/run.js';
import { emptyConfig } from '../../src/lint/config.js';
import { lintSources } from '../../src/lint/engine.js';
import { RULES } from '../../src/lint/registry.js';
import { parseSource } from '../../src/manifest/source.js';
import type { SettingsLayer } from '../../src/settings/resolve.js';
import { envoyIssues, inject, load, loggingIssues, objectsOfText, podContainers, ROOT, schemaIssues, uninject } from '../helpers/corpus.js';

const FIXTURES = ['web.yaml', 'catalog.json', 'report-cronjob.yaml'].map((f) => join(ROOT, 'fixtures', f));
const OUTPUTS = ['stdout', 'forward://fluentd.logging:24224', 'es://elasticsearch.logging:9200', 'loki://loki.monitoring:3100'];

function flags(agent: string, output: string, proxy: string): SettingsLayer {
  return [
    { key: 'logging', value: agent, flag: '--logging' },
    { key: 'log-output', value: output, flag: '--log-output' },
    { key: 'proxy', value: proxy, flag: '--proxy' },
  ];
}

type Obj = Record<string, unknown>;
const byName = (list: Obj[], name: string) => list.find((c) => c.name === name);

describe('logging sidecars on the fixtures', () => {
  for (const agent of ['fluent-bit', 'fluentd']) {
    for (const output of OUTPUTS) {
      for (const proxy of ['envoy', 'none']) {
        it(`${agent} -> ${output}, proxy ${proxy}`, async () => {
          for (const file of FIXTURES) {
            const source = load(file);
            const layer = flags(agent, output, proxy);
            const result = inject(source, layer);
            const out = result.files[0]!.text;
            const injected = result.reports.filter((r) => r.action === 'injected');
            // Every fixture workload gets a shipper: even the CronJob without a port (proxy dropped).
            expect(injected.length, file).toBeGreaterThan(0);

            expect(schemaIssues(out)).toEqual([]);
            const logging = loggingIssues(out);
            expect(logging.issues).toEqual([]);
            expect(agent === 'fluent-bit' ? logging.fluentBit : logging.fluentd).toBe(injected.length);
            expect((await envoyIssues(out)).issues).toEqual([]);

            for (const workload of objectsOfText(out).filter((o) => podContainers(o).length > 0)) {
              const containers = podContainers(workload);
              const shipper = byName(containers, `sidecarctl-${agent}`)!;
              expect(shipper, `${file}: shipper container`).toBeDefined();
              const mounts = shipper.volumeMounts as Obj[];
              expect(byName(mounts, 'sidecarctl-logs')).toMatchObject({ mountPath: '/var/log/app', readOnly: true });
              expect(byName(mounts, 'sidecarctl-log-state')!.readOnly).toBeUndefined();
              expect((shipper.securityContext as Obj).runAsNonRoot).toBe(true);
              expect((shipper.resources as { limits: Obj }).limits.memory).toMatch(/^\d+Mi$/);
              // The app writes into the same volume.
              const app = containers.find((c) => !String(c.name).startsWith('sidecarctl-'))!;
              expect(byName(app.volumeMounts as Obj[], 'sidecarctl-logs')).toMatchObject({ mountPath: '/var/log/app' });
              // Native sidecar, first: up before the app and before the proxy that sends it access logs.
              expect(shipper.restartPolicy).toBe('Always');
            }

            expect(inject(parseSource(file, out), layer).files[0]!.text).toBe(out);
            expect(uninject(parseSource(file, out)).files[0]!.text).toBe(source.text);
          }
        });
      }
    }
  }
});

describe('logging config contents', () => {
  const web = join(ROOT, 'fixtures', 'web.yaml');
  const configOf = (layer: SettingsLayer, key: string): string => {
    const out = inject(load(web), layer).files[0]!.text;
    const cm = objectsOfText(out).find((o) => o.kind === 'ConfigMap')!;
    return (cm.data as Record<string, string>)[key]!;
  };

  it('Fluent Bit: tails the glob with a position DB on the state volume, parses JSON, bounds memory', () => {
    const config = parse(configOf(flags('fluent-bit', 'stdout', 'none'), 'fluent-bit.yaml'));
    const tail = config.pipeline.inputs.find((i: Obj) => i.name === 'tail');
    expect(tail).toMatchObject({ path: '/var/log/app/*.log', 'storage.type': 'filesystem' });
    expect(tail.db).toMatch(/^\/var\/lib\/sidecarctl\//);
    expect(config.service['storage.path']).toMatch(/^\/var\/lib\/sidecarctl\//);
    expect(config.service['storage.max_chunks_up']).toBeGreaterThan(0);
    expect(config.pipeline.filters.find((f: Obj) => f.name === 'parser')).toMatchObject({ key_name: 'log', reserve_data: 'on' });
    // No proxy: no forward input listening for access logs.
    expect(config.pipeline.inputs.some((i: Obj) => i.name === 'forward')).toBe(false);
  });

  it('Fluent Bit: with a proxy, a forward input on 127.0.0.1 takes its access logs', () => {
    const config = parse(configOf(flags('fluent-bit', 'stdout', 'envoy'), 'fluent-bit.yaml'));
    expect(config.pipeline.inputs.find((i: Obj) => i.name === 'forward')).toMatchObject({ listen: '127.0.0.1', port: 24224 });
  });

  it('Fluentd: pos_file and file buffer on the state volume, bounded buffer', () => {
    const conf = configOf(flags('fluentd', 'forward://agg.logging:24224', 'none'), 'fluent.conf');
    expect(conf).toMatch(/pos_file "\/var\/lib\/sidecarctl\/fluentd\/app\.pos"/);
    expect(conf).toMatch(/<buffer>\n\s+@type file/);
    expect(conf).toMatch(/total_limit_size "256m"/);
    expect(conf).not.toContain('@type forward\n  bind 127.0.0.1');
  });

  it('Fluentd: the image follows the output (the plain image has no Elasticsearch or Loki plugin)', () => {
    const imageFor = (output: string) => {
      const out = inject(load(web), flags('fluentd', output, 'none')).files[0]!.text;
      const deployment = objectsOfText(out).find((o) => o.kind === 'Deployment')!;
      return String(byName(podContainers(deployment), 'sidecarctl-fluentd')!.image);
    };
    expect(imageFor('stdout')).toMatch(/^fluent\/fluentd:v1\.19/);
    expect(imageFor('es://es:9200')).toMatch(/elasticsearch8/);
    expect(imageFor('loki://loki:3100')).toMatch(/fluent-plugin-loki/);
  });

  it('Envoy sends its access logs to the shipper when both are injected', async () => {
    const envoy = parse(configOf(flags('fluent-bit', 'stdout', 'envoy'), 'envoy.yaml'));
    const text = JSON.stringify(envoy);
    expect(text).toContain('envoy.extensions.access_loggers.fluentd.v3.FluentdAccessLogConfig');
    const clusters = envoy.static_resources.clusters as Obj[];
    const shipper = clusters.find((c) => JSON.stringify(c).includes('"port_value":24224'));
    expect(shipper).toBeDefined();
  });

  it('refuses a log path that would hide a system directory, at the flag', () => {
    const layer: SettingsLayer = [...flags('fluent-bit', 'stdout', 'none'), { key: 'log-path', value: '/var/log/*.log', flag: '--log-path' }];
    expect(() => inject(load(web), layer)).toThrow(UserError);
    expect(() => inject(load(web), layer)).toThrow(/mounted over \/var\/log/);
  });

  it('refuses a log path with characters the agents would expand', () => {
    const layer: SettingsLayer = [...flags('fluentd', 'stdout', 'none'), { key: 'log-path', value: '/var/log/app/#{x}.log', flag: '--log-path' }];
    expect(() => inject(load(web), layer)).toThrow(/--log-path: "\/var\/log\/app\/#{x}.log": use only/);
  });

  it('skips a Job whose plain-container sidecar would keep it running', () => {
    const cron = join(ROOT, 'fixtures', 'report-cronjob.yaml');
    const layer: SettingsLayer = [...flags('fluent-bit', 'stdout', 'none'), { key: 'native-sidecar', value: false, flag: '--no-native-sidecar' }];
    const report = inject(load(cron), layer).reports.find((r) => r.object.startsWith('CronJob'))!;
    expect(report.action).toBe('skipped');
    expect(report.skip).toBe(SKIP.wouldNotComplete);
  });
});

describe('lint on logging output', () => {
  const web = join(ROOT, 'fixtures', 'web.yaml');

  it('each agent x output, with and without a proxy, lints clean when injected from a profile', async () => {
    for (const agent of ['fluent-bit', 'fluentd']) {
      for (const output of OUTPUTS) {
        for (const proxy of ['envoy', 'bundled', 'none']) {
          const layer = flags(agent, output, proxy);
          const out = runInjection([load(web)], { mode: 'inject', profile: layer, flags: [] }).files[0]!.text;
          const findings = await lintSources([parseSource(web, out)], { profile: layer, config: emptyConfig(), rules: RULES });
          expect(findings.map((f) => `${f.rule}: ${f.message}`), `${agent} ${output} ${proxy}`).toEqual([]);
        }
      }
    }
  });

  it('flags a Fluentd image that lacks the output plugin its config uses', async () => {
    const layer = flags('fluentd', 'es://es:9200', 'none');
    const out = runInjection([load(web)], { mode: 'inject', profile: layer, flags: [] }).files[0]!.text;
    const swapped = out.replace(/fluent\/fluentd-kubernetes-daemonset:[^\s"]+/, 'fluent/fluentd:v1.19.3-debian-2.2');
    const findings = await lintSources([parseSource(web, swapped)], { profile: layer, config: emptyConfig(), rules: RULES });
    const line = swapped.split('\n').findIndex((l) => l.trim() === '@type elasticsearch') + 1;
    expect(findings.filter((f) => f.rule === 'fluentd-config').map((f) => f.line)).toEqual([line]);
  });
});

describe('a bad log path in an annotation', () => {
  it('is reported at the annotation line', () => {
    const web = join(ROOT, 'fixtures', 'web.yaml');
    const text = load(web).text.replace('sidecarctl.io/retries: "2"', 'sidecarctl.io/log-path: /var/log/*.log');
    const line = text.split('\n').findIndex((l) => l.includes('sidecarctl.io/log-path')) + 1;
    try {
      inject(parseSource(web, text), flags('fluent-bit', 'stdout', 'none'));
      expect.unreachable('inject should refuse the log path');
    } catch (error) {
      expect((error as UserError).format()).toBe(`${web}:${line}: log-path: "/var/log/*.log": the shared log volume would be mounted over /var/log and hide what the image keeps there; log to a directory of its own, like /var/log/app/*.log`);
    }
  });
});

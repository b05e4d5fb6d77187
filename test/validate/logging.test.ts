import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

import {
  FLUENT_BIT_PLUGINS,
  FLUENT_BIT_VERSION,
  getFluentBitPlugin,
  validateFluentBitConfig,
} from '../../src/validate/fluentbit.js';
import {
  FLUENTD_IMAGES,
  FLUENTD_VERSION,
  parseFluentdConfig,
  validateFluentdConfig,
  type FluentdIssue,
} from '../../src/validate/fluentd.js';
import type { ConfigIssue } from '../../src/validate/issue.js';

// -----------------------------------------------------------------------------------------------
// Fixtures
// -----------------------------------------------------------------------------------------------

/** Sidecar tailing /var/log/app/*.log, JSON or plain lines, enriched from the downward API env. */
const FLUENT_BIT_VALID = `
env:
  LOG_DIR: /var/log/app

service:
  flush: 1
  grace: 5
  log_level: info
  http_server: on
  http_listen: 0.0.0.0
  http_port: 2020
  health_check: on
  storage.path: /var/lib/fluent-bit/storage/
  storage.sync: normal
  storage.max_chunks_up: 64
  storage.backlog.mem_limit: 16M

parsers:
  - name: app_json
    format: json
    time_key: time
    time_format: "%Y-%m-%dT%H:%M:%S.%L%z"
    time_keep: on

pipeline:
  inputs:
    - name: tail
      tag: app.*
      path: \${LOG_DIR}/*.log
      db: /var/lib/fluent-bit/app-tail.db
      db.locking: true
      read_from_head: false
      refresh_interval: 10
      skip_long_lines: on
      buffer_chunk_size: 64KB
      buffer_max_size: 1MB
      mem_buf_limit: 16MB
      storage.type: filesystem
      multiline.parser: java

  filters:
    # JSON lines become structured records; plain lines keep their 'log' key unchanged.
    - name: parser
      match: app.*
      key_name: log
      parser: app_json
      reserve_data: on
      preserve_key: off
    - name: record_modifier
      match: app.*
      record:
        - pod_name \${POD_NAME}
        - namespace \${POD_NAMESPACE}
        - container_name \${CONTAINER_NAME}
    - name: modify
      match: app.*
      add:
        - shipper sidecarctl

  outputs:
    - name: stdout
      match: app.*
      format: json_lines
    - name: forward
      match: app.*
      host: fluentd-aggregator.logging.svc
      port: 24224
      retry_limit: 5
      storage.total_limit_size: 256M
    - name: es
      match: app.*
      host: \${ES_HOST}
      port: 9200
      index: app-logs
      suppress_type_name: on
      tls: on
      tls.verify: on
      http_user: \${ES_USER}
      http_passwd: \${ES_PASSWORD}
      net.connect_timeout: 10s
      storage.total_limit_size: 512M
    - name: loki
      match: app.*
      host: loki-gateway.logging.svc
      port: 3100
      labels: job=sidecarctl, namespace=\${POD_NAMESPACE}, pod=\${POD_NAME}
      line_format: json
      storage.total_limit_size: 256M
`;

const FLUENTD_HEAD = `<system>
  log_level info
  root_dir /var/lib/fluentd
</system>

<source>
  @type tail
  @id app_tail
  path /var/log/app/*.log
  pos_file /var/lib/fluentd/pos/app.log.pos
  tag app.*
  read_from_head true
  follow_inodes true
  refresh_interval 10s
  <parse>
    @type none
    message_key log
  </parse>
</source>

# JSON lines become structured records; plain lines keep their 'log' key.
<filter app.**>
  @type parser
  key_name log
  reserve_data true
  remove_key_name_field true
  emit_invalid_record_to_error false
  <parse>
    @type json
    time_key time
    keep_time_key true
  </parse>
</filter>

<filter app.**>
  @type record_transformer
  <record>
    pod_name "#{ENV['POD_NAME']}"
    namespace "#{ENV['POD_NAMESPACE']}"
    container_name "#{ENV['CONTAINER_NAME']}"
  </record>
</filter>
`;

const FLUENTD_STDOUT = `${FLUENTD_HEAD}
<match app.**>
  @type stdout
  <format>
    @type json
  </format>
</match>
`;

const FLUENTD_FORWARD = `${FLUENTD_HEAD}
<match app.**>
  @type forward
  @id to_aggregator
  require_ack_response true
  <server>
    host fluentd-aggregator.logging.svc
    port 24224
  </server>
  <buffer>
    @type file
    path /var/lib/fluentd/buffer/forward
    chunk_limit_size 8m
    total_limit_size 512m
    flush_interval 5s
    overflow_action drop_oldest_chunk
    retry_max_interval 30s
  </buffer>
</match>
`;

const FLUENTD_ES = `${FLUENTD_HEAD}
<match app.**>
  @type elasticsearch
  host "#{ENV['ES_HOST']}"
  port 9200
  scheme https
  user "#{ENV['ES_USER']}"
  password "#{ENV['ES_PASSWORD']}"
  index_name app-logs
  suppress_type_name true
  include_timestamp true
  <buffer tag>
    @type memory
    chunk_limit_size 8MB
    total_limit_size 256MB
    flush_interval 5s
    overflow_action drop_oldest_chunk
  </buffer>
</match>
`;

const FLUENTD_LOKI = `${FLUENTD_HEAD}
<match app.**>
  @type loki
  url "http://loki-gateway.logging.svc:3100"
  extra_labels {"job":"sidecarctl"}
  line_format json
  <label>
    namespace
    pod_name
    container_name
  </label>
  <buffer>
    chunk_limit_size 1m
    total_limit_size 128m
    flush_interval 10s
    overflow_action drop_oldest_chunk
  </buffer>
</match>
`;

/** Same pipeline with one multi_format <parse> instead of a parser filter (daemonset images only). */
const FLUENTD_MULTI_FORMAT = `<source>
  @type tail
  path /var/log/app/*.log
  pos_file /var/lib/fluentd/pos/app.log.pos
  tag app.*
  <parse>
    @type multi_format
    <pattern>
      format json
      time_key time
    </pattern>
    <pattern>
      format none
      message_key log
    </pattern>
  </parse>
</source>

<match app.**>
  @type elasticsearch
  hosts https://es-0.logging.svc:9200,https://es-1.logging.svc:9200
  index_name app-logs
</match>
`;

// -----------------------------------------------------------------------------------------------
// Helpers
// -----------------------------------------------------------------------------------------------

/** 1-based line of the `nth` (1-based) line containing `needle`. */
function lineOf(text: string, needle: string, nth = 1): number {
  let seen = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.includes(needle) && ++seen === nth) return i + 1;
  }
  throw new Error(`'${needle}' (#${nth}) not in text`);
}

function errors(issues: FluentdIssue[]): FluentdIssue[] {
  return issues.filter((i) => i.severity === 'error');
}

function fluentBitValid(): Record<string, any> {
  return parseYaml(FLUENT_BIT_VALID) as Record<string, any>;
}

function findIssue(issues: ConfigIssue[], path: (string | number)[]): ConfigIssue | undefined {
  return issues.find((i) => JSON.stringify(i.path) === JSON.stringify(path));
}

// -----------------------------------------------------------------------------------------------
// Fluent Bit
// -----------------------------------------------------------------------------------------------

describe('Fluent Bit YAML validation', () => {
  it('pins a 5.x release and keeps plugin tables as data with their sources', () => {
    expect(FLUENT_BIT_VERSION).toMatch(/^5\.\d+\.\d+$/);
    const names = FLUENT_BIT_PLUGINS.map((p) => `${p.kind}:${p.name}`);
    for (const n of [
      'input:tail', 'input:dummy', 'input:forward', 'filter:parser', 'filter:modify',
      'filter:record_modifier', 'filter:kubernetes', 'output:stdout', 'output:forward',
      'output:es', 'output:loki', 'output:http',
    ]) {
      expect(names).toContain(n);
    }
    for (const p of FLUENT_BIT_PLUGINS) {
      expect(p.doc).toMatch(/^https:\/\/docs\.fluentbit\.io\//);
      expect(p.source).toMatch(/^plugins\//);
    }
  });

  it('accepts the realistic sidecar configuration (tail + JSON/plain + env enrichment + 4 outputs)', () => {
    expect(validateFluentBitConfig(fluentBitValid())).toEqual([]);
  });

  it('matches property names case-insensitively, as Fluent Bit does', () => {
    const cfg = fluentBitValid();
    const tail = cfg.pipeline.inputs[0];
    delete tail['mem_buf_limit'];
    delete tail['db.locking'];
    tail['Mem_Buf_Limit'] = '5MB';
    tail['DB.Locking'] = 'On';
    cfg.pipeline.outputs[2]['Suppress_Type_Name'] = cfg.pipeline.outputs[2]['suppress_type_name'];
    delete cfg.pipeline.outputs[2]['suppress_type_name'];
    expect(validateFluentBitConfig(cfg)).toEqual([]);
  });

  it('accepts ${VAR} references in any value, including typed ones', () => {
    const cfg = fluentBitValid();
    cfg.pipeline.inputs[0]['mem_buf_limit'] = '${TAIL_MEM_LIMIT}';
    cfg.pipeline.outputs[1]['port'] = '${AGGREGATOR_PORT}';
    cfg.service['http_server'] = '${HTTP_ON}';
    expect(validateFluentBitConfig(cfg)).toEqual([]);
  });

  it('reports an unknown plugin name at its name, with a hint', () => {
    const cfg = fluentBitValid();
    cfg.pipeline.outputs[2].name = 'elasticsearch';
    const issues = validateFluentBitConfig(cfg);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toEqual(['pipeline', 'outputs', 2, 'name']);
    expect(issues[0]!.message).toMatch(/unknown output plugin 'elasticsearch'.*did you mean 'es'/);
  });

  it('reports an unknown property at its key', () => {
    const cfg = fluentBitValid();
    cfg.pipeline.inputs[0]['read_from_top'] = true;
    const issues = validateFluentBitConfig(cfg);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toEqual(['pipeline', 'inputs', 0, 'read_from_top']);
    expect(issues[0]!.message).toMatch(/unknown property 'read_from_top' for input 'tail'.*read_from_head/);
  });

  it('reports a missing required host on forward, es and loki outputs', () => {
    const cfg = fluentBitValid();
    delete cfg.pipeline.outputs[1].host;
    delete cfg.pipeline.outputs[2].host;
    delete cfg.pipeline.outputs[3].host;
    const issues = validateFluentBitConfig(cfg);
    expect(issues.map((i) => i.path)).toEqual([
      ['pipeline', 'outputs', 1, 'host'],
      ['pipeline', 'outputs', 2, 'host'],
      ['pipeline', 'outputs', 3, 'host'],
    ]);
    expect(issues[2]!.message).toMatch(/output 'loki' requires 'host'/);
  });

  it('reports a missing required tail path and parser key_name', () => {
    const cfg = fluentBitValid();
    delete cfg.pipeline.inputs[0].path;
    delete cfg.pipeline.filters[0].key_name;
    const paths = validateFluentBitConfig(cfg).map((i) => i.path);
    expect(paths).toContainEqual(['pipeline', 'inputs', 0, 'path']);
    expect(paths).toContainEqual(['pipeline', 'filters', 0, 'key_name']);
  });

  it('reports bad sizes, booleans, integers, durations and enums', () => {
    const cfg = fluentBitValid();
    cfg.pipeline.inputs[0]['mem_buf_limit'] = '16 MiB';
    cfg.pipeline.inputs[0]['skip_long_lines'] = 'enabled';
    cfg.pipeline.inputs[0]['refresh_interval'] = 'often';
    cfg.pipeline.outputs[1]['port'] = '24224/tcp';
    cfg.pipeline.outputs[3]['line_format'] = 'logfmt';
    cfg.pipeline.outputs[1]['storage.total_limit_size'] = 'lots';
    cfg.service['storage.backlog.mem_limit'] = '1T';
    const issues = validateFluentBitConfig(cfg);
    const at = (path: (string | number)[]): string => findIssue(issues, path)?.message ?? '(none)';
    expect(at(['pipeline', 'inputs', 0, 'mem_buf_limit'])).toMatch(/must be a size/);
    expect(at(['pipeline', 'inputs', 0, 'skip_long_lines'])).toMatch(/must be a boolean/);
    expect(at(['pipeline', 'inputs', 0, 'refresh_interval'])).toMatch(/duration/);
    expect(at(['pipeline', 'outputs', 1, 'port'])).toMatch(/integer/);
    expect(at(['pipeline', 'outputs', 3, 'line_format'])).toMatch(/json, key_value/);
    expect(at(['pipeline', 'outputs', 1, 'storage.total_limit_size'])).toMatch(/size/);
    expect(at(['service', 'storage.backlog.mem_limit'])).toMatch(/size/);
    expect(issues).toHaveLength(7);
  });

  it('accepts the documented size spellings', () => {
    for (const size of ['32000', '32k', '32K', '32kb', '32KB', '5M', '5MB', '1.5M', '1g', '2GB', 'false', 0, 1024]) {
      const cfg = fluentBitValid();
      cfg.pipeline.inputs[0]['buffer_max_size'] = size;
      expect(validateFluentBitConfig(cfg), String(size)).toEqual([]);
    }
  });

  it('requires match on filters and outputs', () => {
    const cfg = fluentBitValid();
    delete cfg.pipeline.filters[1].match;
    delete cfg.pipeline.outputs[0].match;
    cfg.pipeline.outputs[1].match_regex = cfg.pipeline.outputs[1].match;
    delete cfg.pipeline.outputs[1].match;
    const issues = validateFluentBitConfig(cfg);
    expect(issues.map((i) => i.path)).toEqual([
      ['pipeline', 'filters', 1, 'match'],
      ['pipeline', 'outputs', 0, 'match'],
    ]);
  });

  it('checks parser references against the parsers section', () => {
    const cfg = fluentBitValid();
    cfg.pipeline.filters[0].parser = 'json';
    cfg.pipeline.inputs[0]['multiline.parser'] = 'java, spring_boot';
    const issues = validateFluentBitConfig(cfg);
    expect(findIssue(issues, ['pipeline', 'filters', 0, 'parser'])?.message).toMatch(/parser 'json' is not defined/);
    expect(findIssue(issues, ['pipeline', 'inputs', 0, 'multiline.parser'])?.message).toMatch(/'spring_boot'/);
    expect(issues).toHaveLength(2);
    // With an external parsers_file the references cannot be checked and are accepted.
    cfg.service.parsers_file = '/fluent-bit/etc/parsers.conf';
    cfg.pipeline.inputs[0]['multiline.parser'] = 'java';
    expect(validateFluentBitConfig(cfg)).toEqual([]);
  });

  it('checks record_modifier / modify entries have a key and a value', () => {
    const cfg = fluentBitValid();
    cfg.pipeline.filters[1].record = ['pod_name'];
    const issues = validateFluentBitConfig(cfg);
    expect(issues.map((i) => i.path)).toEqual([['pipeline', 'filters', 1, 'record', 0]]);
  });

  it('rejects TLS and net.* on plugins that do not support them, unknown sections and pipeline keys', () => {
    const cfg = fluentBitValid();
    cfg.pipeline.outputs[0]['tls'] = 'on';
    cfg.pipeline.filters[2]['net.keepalive'] = 'on';
    cfg.pipelines = {};
    cfg.pipeline.output = [];
    const issues = validateFluentBitConfig(cfg);
    expect(findIssue(issues, ['pipeline', 'outputs', 0, 'tls'])?.message).toMatch(/does not support TLS/);
    expect(findIssue(issues, ['pipeline', 'filters', 2, 'net.keepalive'])).toBeDefined();
    expect(findIssue(issues, ['pipelines'])?.message).toMatch(/did you mean 'pipeline'/);
    expect(findIssue(issues, ['pipeline', 'output'])).toBeDefined();
  });

  it('reports duplicate properties differing only in case', () => {
    const cfg = fluentBitValid();
    cfg.pipeline.inputs[0]['Path'] = '/var/log/other/*.log';
    const issues = validateFluentBitConfig(cfg);
    expect(issues.map((i) => i.path)).toEqual([['pipeline', 'inputs', 0, 'Path']]);
  });

  it('validates the dummy input and forward input, and the http output requires host', () => {
    const cfg = {
      pipeline: {
        inputs: [
          { name: 'dummy', dummy: '{"message":"hello"}', rate: 1, samples: 3 },
          { name: 'forward', listen: '0.0.0.0', port: 24224, buffer_max_size: '6M', 'tls.verify_client_cert': 'on' },
        ],
        outputs: [{ name: 'http', match: '*', uri: '/ingest', format: 'json', port: 8080 }],
      },
    };
    const issues = validateFluentBitConfig(cfg);
    expect(issues.map((i) => i.path)).toEqual([['pipeline', 'outputs', 0, 'host']]);
  });

  it('looks plugins up case-insensitively', () => {
    expect(getFluentBitPlugin('output', 'ES')?.name).toBe('es');
  });
});

// -----------------------------------------------------------------------------------------------
// Fluentd
// -----------------------------------------------------------------------------------------------

describe('Fluentd config parsing', () => {
  it('builds a directive tree with line numbers', () => {
    const { directives, issues } = parseFluentdConfig(FLUENTD_FORWARD);
    expect(issues).toEqual([]);
    expect(directives.map((d) => d.name)).toEqual(['system', 'source', 'filter', 'filter', 'match']);
    const match = directives[4]!;
    expect(match.arg).toBe('app.**');
    expect(match.line).toBe(lineOf(FLUENTD_FORWARD, '<match app.**>'));
    expect(match.children.map((c) => c.name)).toEqual(['server', 'buffer']);
    const host = match.children[0]!.params.find((p) => p.key === 'host')!;
    expect(host).toMatchObject({ value: 'fluentd-aggregator.logging.svc', line: lineOf(FLUENTD_FORWARD, 'host fluentd-aggregator') });
    const record = directives[3]!.children[0]!;
    expect(record.params[0]).toMatchObject({ key: 'pod_name', value: "#{ENV['POD_NAME']}", quoting: 'double' });
  });

  it('handles comments, quoted values, multi-line arrays and hashes', () => {
    const text = [
      '<source>', //                              1
      '  @type sample # inline comment', //       2
      "  tag 'app.sample'", //                    3
      '  sample {"a": 1,', //                     4
      '          "b": [1, 2]}', //                5
      '  # a comment', //                         6
      '</source>', //                             7
    ].join('\n');
    const { directives, issues } = parseFluentdConfig(text);
    expect(issues).toEqual([]);
    const [src] = directives;
    expect(src!.params.map((p) => [p.key, p.value, p.line])).toEqual([
      ['@type', 'sample', 2],
      ['tag', 'app.sample', 3],
      ['sample', '{"a": 1,\n"b": [1, 2]}', 4],
    ]);
    expect(src!.endLine).toBe(7);
  });

  it('reports unbalanced tags with their lines', () => {
    const text = ['<filter app.**>', '  @type stdout', '</match>', '</filter>', '</match>', '<source>', '  @type sample'].join('\n');
    const { issues } = parseFluentdConfig(text);
    expect(issues.map((i) => [i.line, i.message])).toEqual([
      [3, expect.stringMatching(/closing <\/match> does not match the open <filter> \(line 1\)/)],
      [5, expect.stringMatching(/closing <\/match> has no matching <match>/)],
      [6, expect.stringMatching(/<source> is never closed/)],
    ]);
  });

  it('reports unterminated quoted strings', () => {
    const { issues } = parseFluentdConfig('<source>\n  tag "oops\n</source>\n');
    expect(issues[0]).toMatchObject({ line: 2, message: expect.stringMatching(/unterminated double-quoted/) });
  });
});

describe('Fluentd config validation', () => {
  it(`targets Fluentd ${FLUENTD_VERSION} and knows which image carries which plugin`, () => {
    expect(FLUENTD_VERSION).toMatch(/^1\.19\.\d+$/);
    expect(FLUENTD_IMAGES.core.plugins).toEqual(expect.arrayContaining(['in_tail', 'out_stdout', 'out_forward', 'out_file', 'filter_record_transformer', 'parser_json', 'parser_none']));
    expect(FLUENTD_IMAGES.core.plugins).not.toContain('out_elasticsearch');
    expect(FLUENTD_IMAGES.core.plugins).not.toContain('out_loki');
    expect(FLUENTD_IMAGES.elasticsearch8.plugins).toContain('out_elasticsearch');
    expect(FLUENTD_IMAGES.elasticsearch8.plugins).not.toContain('out_loki');
    expect(FLUENTD_IMAGES.loki.plugins).toContain('out_loki');
    expect(FLUENTD_IMAGES.loki.plugins).not.toContain('out_elasticsearch');
  });

  it.each([
    ['stdout', FLUENTD_STDOUT, FLUENTD_IMAGES.core.plugins],
    ['forward', FLUENTD_FORWARD, FLUENTD_IMAGES.core.plugins],
    ['elasticsearch', FLUENTD_ES, FLUENTD_IMAGES.elasticsearch8.plugins],
    ['loki', FLUENTD_LOKI, FLUENTD_IMAGES.loki.plugins],
    ['multi_format + elasticsearch', FLUENTD_MULTI_FORMAT, FLUENTD_IMAGES.elasticsearch8.plugins],
  ])('accepts the valid %s configuration on its image', (_name, text, plugins) => {
    expect(validateFluentdConfig(text, plugins)).toEqual([]);
    expect(validateFluentdConfig(text)).toEqual([]);
  });

  it('reports an unknown plugin at its @type line', () => {
    const text = FLUENTD_ES.replace('@type elasticsearch', '@type elasticsarch');
    const issues = validateFluentdConfig(text);
    expect(issues).toEqual([
      {
        path: ['match', 0, '@type'],
        line: lineOf(text, '@type elasticsarch'),
        severity: 'error',
        message: "unknown output plugin 'elasticsarch'",
      },
    ]);
  });

  it('reports an unknown parameter at its line', () => {
    const text = FLUENTD_FORWARD.replace('  read_from_head true\n', '  read_from_head true\n  pos_files /tmp/x.pos\n');
    const issues = validateFluentdConfig(text);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      path: ['source', 0, 'pos_files'],
      line: lineOf(text, 'pos_files'),
      severity: 'error',
      message: expect.stringMatching(/unknown parameter 'pos_files' in <source> \(@type tail\)/),
    });
  });

  it('reports a forward <server> without host, and a forward output without any <server>', () => {
    const noHost = FLUENTD_FORWARD.replace('    host fluentd-aggregator.logging.svc\n', '');
    expect(validateFluentdConfig(noHost)).toEqual([
      expect.objectContaining({ path: ['match', 0, 'server', 0, 'host'], line: lineOf(noHost, '<server>') }),
    ]);
    const noServer = FLUENTD_FORWARD.replace(/ {2}<server>[\s\S]*?<\/server>\n/, '');
    expect(validateFluentdConfig(noServer)).toEqual([
      expect.objectContaining({
        path: ['match', 0, 'server'],
        line: lineOf(noServer, '<match app.**>'),
        message: expect.stringMatching(/requires <server> or <service_discovery>/),
      }),
    ]);
  });

  it('reports missing host/url on elasticsearch and loki outputs', () => {
    const es = FLUENTD_ES.replace(`  host "#{ENV['ES_HOST']}"\n`, '');
    expect(validateFluentdConfig(es, FLUENTD_IMAGES.elasticsearch8.plugins)).toEqual([
      expect.objectContaining({ path: ['match', 0, 'host'], line: lineOf(es, '<match app.**>') }),
    ]);
    const loki = FLUENTD_LOKI.replace('  url "http://loki-gateway.logging.svc:3100"\n', '');
    expect(validateFluentdConfig(loki, FLUENTD_IMAGES.loki.plugins)).toEqual([
      expect.objectContaining({ path: ['match', 0, 'url'], message: expect.stringMatching(/requires 'url'/) }),
    ]);
  });

  it('reports bad buffer sizes and durations at their lines', () => {
    const text = FLUENTD_FORWARD.replace('total_limit_size 512m', 'total_limit_size 512 MB').replace('flush_interval 5s', 'flush_interval 5 seconds');
    const issues = validateFluentdConfig(text);
    expect(issues).toEqual([
      expect.objectContaining({
        path: ['match', 0, 'buffer', 0, 'total_limit_size'],
        line: lineOf(text, 'total_limit_size'),
        message: expect.stringMatching(/must be a size such as 8m/),
      }),
      expect.objectContaining({
        path: ['match', 0, 'buffer', 0, 'flush_interval'],
        line: lineOf(text, 'flush_interval'),
        message: expect.stringMatching(/must be a duration/),
      }),
    ]);
  });

  it('reports a total_limit_size smaller than chunk_limit_size, bad enums and time chunk keys without timekey', () => {
    const text = FLUENTD_ES.replace('total_limit_size 256MB', 'total_limit_size 4m')
      .replace('overflow_action drop_oldest_chunk', 'overflow_action drop_newest')
      .replace('<buffer tag>', '<buffer tag,time>');
    const issues = validateFluentdConfig(text, FLUENTD_IMAGES.elasticsearch8.plugins);
    expect(issues.map((i) => [i.line, i.path])).toEqual([
      [lineOf(text, '<buffer tag,time>'), ['match', 0, 'buffer', 0, 'timekey']],
      [lineOf(text, 'total_limit_size 4m'), ['match', 0, 'buffer', 0, 'total_limit_size']],
      [lineOf(text, 'overflow_action drop_newest'), ['match', 0, 'buffer', 0, 'overflow_action']],
    ]);
  });

  it('reports an unbalanced </match> through validation too', () => {
    const text = FLUENTD_STDOUT.replace('  </format>\n</match>', '  </format>\n</match>\n</match>');
    const issues = validateFluentdConfig(text);
    expect(issues).toEqual([
      expect.objectContaining({ line: lineOf(text, '</match>', 2), message: expect.stringMatching(/no matching <match>/) }),
    ]);
  });

  it('reports plugins the chosen image does not ship', () => {
    const loki = validateFluentdConfig(FLUENTD_LOKI, FLUENTD_IMAGES.core.plugins);
    expect(loki).toEqual([
      expect.objectContaining({
        path: ['match', 0, '@type'],
        line: lineOf(FLUENTD_LOKI, '@type loki'),
        message: expect.stringMatching(/output plugin 'loki' is not in the chosen image.*grafana\/fluent-plugin-loki/),
      }),
    ]);
    const es = validateFluentdConfig(FLUENTD_ES, FLUENTD_IMAGES.loki.plugins);
    expect(es.map((i) => i.path)).toEqual([['match', 0, '@type']]);
    const mf = validateFluentdConfig(FLUENTD_MULTI_FORMAT, FLUENTD_IMAGES.loki.plugins);
    expect(mf.map((i) => [i.path, i.line])).toEqual([
      [['source', 0, 'parse', 0, '@type'], lineOf(FLUENTD_MULTI_FORMAT, '@type multi_format')],
      [['match', 0, '@type'], lineOf(FLUENTD_MULTI_FORMAT, '@type elasticsearch')],
    ]);
  });

  it('validates multi_format <pattern> parsers', () => {
    const text = FLUENTD_MULTI_FORMAT.replace('format none', 'format nothing');
    expect(validateFluentdConfig(text)).toEqual([
      expect.objectContaining({ path: ['source', 0, 'parse', 0, 'pattern', 1, 'format'], line: lineOf(text, 'format nothing') }),
    ]);
  });

  it('warns when a tail source has no pos_file, and requires <parse>, path and tag', () => {
    const noPos = FLUENTD_STDOUT.replace('  pos_file /var/lib/fluentd/pos/app.log.pos\n', '');
    expect(validateFluentdConfig(noPos)).toEqual([
      expect.objectContaining({ path: ['source', 0, 'pos_file'], severity: 'warning', line: lineOf(noPos, '<source>') }),
    ]);
    const bare = '<source>\n  @type tail\n</source>\n<match **>\n  @type null\n</match>\n';
    expect(errors(validateFluentdConfig(bare)).map((i) => i.path)).toEqual([
      ['source', 0, 'path'],
      ['source', 0, 'tag'],
      ['source', 0, 'parse'],
    ]);
  });

  it('reports unknown directives, sections, @include and params outside directives', () => {
    const text = [
      '@include other.conf', //                  1
      'log_level debug', //                      2
      '<matcher app.**>', //                     3
      '</matcher>', //                           4
      '<source>', //                             5
      '  @type forward', //                      6
      '  <parse>', //                            7
      '  </parse>', //                           8
      '</source>', //                            9
      '<label @OUT>', //                         10
      '  <source>', //                           11
      '  </source>', //                          12
      '  <match **>', //                         13
      '    @type stdout', //                     14
      '    @include more.conf', //               15
      '  </match>', //                           16
      '</label>', //                             17
    ].join('\n');
    const issues = validateFluentdConfig(text);
    expect(issues.map((i) => [i.line, i.path])).toEqual([
      [1, ['@include']],
      [2, ['log_level']],
      [3, ['matcher', 0]],
      [7, ['source', 0, 'parse', 0]],
      [11, ['label', 0, 'source', 0]],
      [15, ['label', 0, 'match', 0, '@include']],
    ]);
    expect(issues[0]!.message).toMatch(/@include is not supported/);
  });

  it('checks <system> and <label> names', () => {
    const text = '<system>\n  workers two\n</system>\n<label OUT>\n</label>\n<source>\n  @type sample\n  tag x\n  @label @OUT\n</source>\n';
    const issues = validateFluentdConfig(text);
    expect(issues.map((i) => [i.line, i.path])).toEqual([
      [2, ['system', 0, 'workers']],
      [4, ['label', 0]],
    ]);
  });
});

// -----------------------------------------------------------------------------------------------
// Real agents (only where the binaries are installed; Debian bookworm packages neither)
// -----------------------------------------------------------------------------------------------

function which(cmd: string, extra: string[] = []): string | undefined {
  for (const candidate of extra) if (existsSync(candidate)) return candidate;
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}

const FLUENT_BIT_BIN = process.env['FLUENT_BIT_BIN'] ?? which('fluent-bit', ['/opt/fluent-bit/bin/fluent-bit']);
const FLUENTD_BIN = process.env['FLUENTD_BIN'] ?? which('fluentd');
const work = mkdtempSync(join(tmpdir(), 'sidecarctl-logging-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const AGENT_ENV = {
  ...process.env,
  POD_NAME: 'app-0',
  POD_NAMESPACE: 'default',
  CONTAINER_NAME: 'app',
  ES_HOST: 'es.logging.svc',
  ES_USER: 'elastic',
  ES_PASSWORD: 'changeme',
};

describe('dry-run with the real agents', () => {
  it.skipIf(!FLUENT_BIT_BIN)(
    `fluent-bit --dry-run accepts the valid config${FLUENT_BIT_BIN ? '' : ' (skipped: fluent-bit binary not found; set FLUENT_BIT_BIN or install it)'}`,
    () => {
      const file = join(work, 'fluent-bit.yaml');
      writeFileSync(file, FLUENT_BIT_VALID.replaceAll('/var/lib/fluent-bit', join(work, 'fb')));
      const out = execFileSync(FLUENT_BIT_BIN!, ['--dry-run', '-c', file], { env: AGENT_ENV, encoding: 'utf8' });
      expect(out).toMatch(/configuration test is successful/);
    },
  );

  it.skipIf(!FLUENTD_BIN).each([
    ['stdout', FLUENTD_STDOUT],
    ['forward', FLUENTD_FORWARD],
  ])(
    `fluentd --dry-run accepts the valid %s config${FLUENTD_BIN ? '' : ' (skipped: fluentd binary not found; set FLUENTD_BIN or install it)'}`,
    (name, text) => {
      const file = join(work, `fluent-${name}.conf`);
      writeFileSync(file, text.replaceAll('/var/lib/fluentd', join(work, 'fd')).replaceAll('/var/log/app', join(work, 'logs')));
      const r = spawnSync(FLUENTD_BIN!, ['--dry-run', '-c', file], { env: AGENT_ENV, encoding: 'utf8' });
      expect(r.status, r.stdout + r.stderr).toBe(0);
    },
  );
});

describe('Fluent Bit tcp input (the bundled proxy sends its access logs there)', () => {
  const withTcp = (props: Record<string, unknown>) => ({
    pipeline: { inputs: [{ name: 'tcp', listen: '127.0.0.1', port: 24225, tag: 'proxy.access', ...props }], outputs: [{ name: 'stdout', match: '*' }] },
  });
  it('accepts the properties of in_tcp', () => {
    expect(validateFluentBitConfig(withTcp({ format: 'json', chunk_size: '32', buffer_size: '64' }))).toEqual([]);
  });
  it('rejects a property in_tcp does not have, and a format it does not know', () => {
    const issues = validateFluentBitConfig(withTcp({ format: 'msgpack', buffer_max_size: '1MB' })).map((i) => i.message).join('\n');
    expect(issues).toMatch(/buffer_max_size/);
    expect(issues).toMatch(/msgpack/);
  });
});

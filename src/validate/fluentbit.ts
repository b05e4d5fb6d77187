/**
 * Static validation of a Fluent Bit YAML configuration (the value `yaml.parse` returns) for the
 * pinned Fluent Bit release.
 *
 * Sources (read for the pinned 5.x line, see the per-plugin comments below):
 * - YAML layout: docs `administration/configuring-fluent-bit/yaml/*` (service, pipeline, parsers,
 *   multiline_parsers, env, includes sections).
 * - Properties every input/filter/output accepts: `src/flb_input.c`, `src/flb_filter.c`,
 *   `src/flb_output.c` (`flb_*_set_property`), networking (`net.*`) from docs
 *   `administration/networking`, TLS (`tls.*`) from docs `administration/transport-security`.
 * - Per-plugin properties: the plugin's `config_map[]` in `plugins/<kind>_<name>/*.c`, which is
 *   what Fluent Bit itself checks at start-up (`flb_config_map_properties_check`), cross-checked
 *   with the plugin's docs page.
 *
 * Like Fluent Bit, property names are matched case-insensitively, and a value holding an
 * environment reference `${VAR}` is accepted as-is (its shape is only known at run time).
 */
import type { ConfigIssue } from './issue.js';
import { editDistance } from './edit-distance.js';

/** Latest stable release with evidence (docs `installation/downloads/docker` tag table). */
export const FLUENT_BIT_VERSION = '5.1.3';
/** Distroless production image: no shell, no USER directive (runs as uid 0 unless the pod sets runAsUser). */
export const FLUENT_BIT_IMAGE = `cr.fluentbit.io/fluent/fluent-bit:${FLUENT_BIT_VERSION}`;
/** Debian-based debug image with bash/busybox-like tools, for troubleshooting only. */
export const FLUENT_BIT_DEBUG_IMAGE = `cr.fluentbit.io/fluent/fluent-bit:${FLUENT_BIT_VERSION}-debug`;

export type FluentBitPropType =
  | 'string'
  | 'int'
  | 'float'
  | 'bool'
  | 'size'
  | 'time'
  | 'enum'
  | 'clist'
  | 'slist'
  | 'retry_limit'
  | 'size_or_off';

export interface FluentBitProp {
  type: FluentBitPropType;
  /** Allowed values for `enum` (compared case-insensitively). */
  values?: readonly string[];
  /** The property may be given several times (YAML: a list of values). */
  multi?: boolean;
  /** For `slist`: minimum number of space-separated tokens in each value. */
  minTokens?: number;
  /** Value names a parser (checked against the `parsers` section). */
  parserRef?: 'parser' | 'multiline';
  deprecated?: boolean;
}

export type FluentBitPluginKind = 'input' | 'filter' | 'output';

export interface FluentBitPluginSpec {
  name: string;
  kind: FluentBitPluginKind;
  /** Docs page the table was checked against. */
  doc: string;
  /** Source file holding the plugin's config_map. */
  source: string;
  props: Readonly<Record<string, FluentBitProp>>;
  /** Property name prefixes accepted with any suffix (FLB_CONFIG_MAP_STR_PREFIX), e.g. `parser_`. */
  prefixProps?: Readonly<Record<string, FluentBitProp>>;
  /** Each inner list: at least one of these properties must be set. */
  required?: readonly (readonly string[])[];
  /** Why a property is required although Fluent Bit has a default for it. */
  requiredNote?: string;
  /** Plugin opens network connections: `net.*` properties apply. */
  network?: boolean;
  /** Plugin supports TLS: `tls` and `tls.*` properties apply. */
  tls?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Shared property tables
// ---------------------------------------------------------------------------------------------

const LOG_LEVELS = ['off', 'error', 'warn', 'warning', 'info', 'debug', 'trace'] as const;

/** `src/flb_input.c` flb_input_set_property: accepted by every input. */
const INPUT_COMMON: Record<string, FluentBitProp> = {
  name: { type: 'string' },
  tag: { type: 'string' },
  alias: { type: 'string' },
  log_level: { type: 'enum', values: LOG_LEVELS },
  log_suppress_interval: { type: 'time' },
  routable: { type: 'bool' },
  mem_buf_limit: { type: 'size' },
  listen: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'int' },
  ipv6: { type: 'bool' },
  'storage.type': { type: 'enum', values: ['memory', 'filesystem', 'memrb'] },
  'storage.pause_on_chunks_overlimit': { type: 'bool' },
  threaded: { type: 'bool' },
  'thread.ring_buffer.capacity': { type: 'int' },
  'thread.ring_buffer.window': { type: 'int' },
};

/** `src/flb_filter.c` flb_filter_set_property: accepted by every filter. */
const FILTER_COMMON: Record<string, FluentBitProp> = {
  name: { type: 'string' },
  match: { type: 'string' },
  match_regex: { type: 'string' },
  alias: { type: 'string' },
  log_level: { type: 'enum', values: LOG_LEVELS },
  log_suppress_interval: { type: 'time' },
};

/** `src/flb_output.c` flb_output_set_property: accepted by every output. */
const OUTPUT_COMMON: Record<string, FluentBitProp> = {
  name: { type: 'string' },
  match: { type: 'string' },
  match_regex: { type: 'string' },
  alias: { type: 'string' },
  log_level: { type: 'enum', values: LOG_LEVELS },
  log_suppress_interval: { type: 'time' },
  host: { type: 'string' },
  port: { type: 'int' },
  ipv6: { type: 'bool' },
  retry_limit: { type: 'retry_limit' },
  workers: { type: 'int' },
  'storage.total_limit_size': { type: 'size_or_off' },
};

/** `tls` / `tls.*` (flb_input.c / flb_output.c, docs administration/transport-security). */
const TLS_COMMON: Record<string, FluentBitProp> = {
  tls: { type: 'bool' },
  'tls.verify': { type: 'bool' },
  'tls.verify_hostname': { type: 'bool' },
  'tls.debug': { type: 'int' },
  'tls.vhost': { type: 'string' },
  'tls.ca_path': { type: 'string' },
  'tls.ca_file': { type: 'string' },
  'tls.crt_file': { type: 'string' },
  'tls.key_file': { type: 'string' },
  'tls.key_passwd': { type: 'string' },
  'tls.min_version': { type: 'string' },
  'tls.max_version': { type: 'string' },
  'tls.ciphers': { type: 'string' },
};
/** Inputs only: `tls.provider_query` (flb_input.c) and `tls.verify_client_cert` (v5.0 upgrade notes). */
const TLS_INPUT_ONLY: Record<string, FluentBitProp> = {
  'tls.provider_query': { type: 'string' },
  'tls.verify_client_cert': { type: 'bool' },
};

/** Upstream (client) networking, docs administration/networking "Configuration options". */
const NET_CLIENT: Record<string, FluentBitProp> = {
  'net.connect_timeout': { type: 'time' },
  'net.connect_timeout_log_error': { type: 'bool' },
  'net.io_timeout': { type: 'time' },
  'net.keepalive': { type: 'bool' },
  'net.keepalive_idle_timeout': { type: 'time' },
  'net.keepalive_max_recycle': { type: 'int' },
  'net.max_worker_connections': { type: 'int' },
  'net.dns.mode': { type: 'enum', values: ['TCP', 'UDP'] },
  'net.dns.prefer_ipv4': { type: 'bool' },
  'net.dns.prefer_ipv6': { type: 'bool' },
  'net.dns.resolver': { type: 'enum', values: ['LEGACY', 'ASYNC'] },
  'net.proxy_env_ignore': { type: 'bool' },
  'net.tcp_keepalive': { type: 'bool' },
  'net.tcp_keepalive_time': { type: 'int' },
  'net.tcp_keepalive_interval': { type: 'int' },
  'net.tcp_keepalive_probes': { type: 'int' },
  'net.source_address': { type: 'string' },
};
/** Downstream (listener) networking for server inputs (docs administration/networking). */
const NET_SERVER: Record<string, FluentBitProp> = {
  'net.backlog': { type: 'int' },
  'net.io_timeout': { type: 'time' },
  'net.accept_timeout': { type: 'time' },
  'net.accept_timeout_log_error': { type: 'bool' },
  'net.share_port': { type: 'bool' },
};

// ---------------------------------------------------------------------------------------------
// Per-plugin tables (data, one object per plugin)
// ---------------------------------------------------------------------------------------------

export const FLUENT_BIT_PLUGINS: readonly FluentBitPluginSpec[] = [
  {
    // docs pipeline/inputs/tail ("Configuration parameters", "Multiline core") — plugins/in_tail/tail.c config_map
    name: 'tail',
    kind: 'input',
    doc: 'https://docs.fluentbit.io/manual/data-pipeline/inputs/tail',
    source: 'plugins/in_tail/tail.c',
    required: [['path']],
    props: {
      path: { type: 'clist' },
      exclude_path: { type: 'clist' },
      key: { type: 'string' },
      read_from_head: { type: 'bool' },
      read_newly_discovered_files_from_head: { type: 'bool' },
      refresh_interval: { type: 'time' },
      watcher_interval: { type: 'time' },
      progress_check_interval: { type: 'time' },
      progress_check_interval_nsec: { type: 'int' },
      rotate_wait: { type: 'time' },
      docker_mode: { type: 'bool' },
      docker_mode_flush: { type: 'int' },
      docker_mode_parser: { type: 'string', parserRef: 'parser' },
      path_key: { type: 'string' },
      offset_key: { type: 'string' },
      ignore_older: { type: 'time' },
      ignore_active_older_files: { type: 'bool' },
      buffer_chunk_size: { type: 'size' },
      buffer_max_size: { type: 'size' },
      static_batch_size: { type: 'size' },
      event_batch_size: { type: 'size' },
      skip_long_lines: { type: 'bool' },
      skip_empty_lines: { type: 'bool' },
      truncate_long_lines: { type: 'bool' },
      exit_on_eof: { type: 'bool' },
      file_cache_advise: { type: 'bool' },
      inotify_watcher: { type: 'bool' },
      parser: { type: 'string', parserRef: 'parser' },
      tag_regex: { type: 'string' },
      db: { type: 'string' },
      'db.sync': { type: 'enum', values: ['extra', 'full', 'normal', 'off'] },
      'db.locking': { type: 'bool' },
      'db.journal_mode': { type: 'enum', values: ['delete', 'truncate', 'persist', 'memory', 'wal', 'off'] },
      'db.compare_filename': { type: 'bool' },
      multiline: { type: 'bool' },
      multiline_flush: { type: 'time' },
      parser_firstline: { type: 'string', parserRef: 'parser' },
      'multiline.parser': { type: 'clist', multi: true, parserRef: 'multiline' },
      'unicode.encoding': { type: 'string' },
      'generic.encoding': { type: 'string' },
    },
    prefixProps: { parser_: { type: 'string', parserRef: 'parser' } },
  },
  {
    // docs pipeline/inputs/dummy — plugins/in_dummy/in_dummy.c config_map
    name: 'dummy',
    kind: 'input',
    doc: 'https://docs.fluentbit.io/manual/data-pipeline/inputs/dummy',
    source: 'plugins/in_dummy/in_dummy.c',
    props: {
      samples: { type: 'int' },
      dummy: { type: 'string' },
      metadata: { type: 'string' },
      rate: { type: 'int' },
      interval_sec: { type: 'int' },
      interval_nsec: { type: 'int' },
      copies: { type: 'int' },
      start_time_sec: { type: 'int' },
      start_time_nsec: { type: 'int' },
      fixed_timestamp: { type: 'bool' },
      flush_on_startup: { type: 'bool' },
    },
  },
  {
    // docs pipeline/inputs/forward — plugins/in_forward/fw.c config_map (+ listen/port shared props)
    name: 'forward',
    kind: 'input',
    doc: 'https://docs.fluentbit.io/manual/data-pipeline/inputs/forward',
    source: 'plugins/in_forward/fw.c',
    network: true,
    tls: true,
    props: {
      tag_prefix: { type: 'string' },
      shared_key: { type: 'string' },
      self_hostname: { type: 'string' },
      'security.users': { type: 'string', multi: true },
      unix_path: { type: 'string' },
      unix_perm: { type: 'string' },
      buffer_chunk_size: { type: 'size' },
      buffer_max_size: { type: 'size' },
      empty_shared_key: { type: 'bool' },
    },
  },
  {
    // docs pipeline/inputs/tcp — plugins/in_tcp/tcp.c config_map (+ listen/port shared props).
    // format is a string in the config map; tcp_config.c accepts json or none and fails otherwise.
    name: 'tcp',
    kind: 'input',
    doc: 'https://docs.fluentbit.io/manual/data-pipeline/inputs/tcp',
    source: 'plugins/in_tcp/tcp.c',
    network: true,
    tls: true,
    props: {
      format: { type: 'enum', values: ['json', 'none'] },
      separator: { type: 'string' },
      chunk_size: { type: 'size' },
      buffer_size: { type: 'size' },
      source_address_key: { type: 'string' },
    },
  },
  {
    // docs pipeline/filters/parser — plugins/filter_parser/filter_parser.c config_map
    name: 'parser',
    kind: 'filter',
    doc: 'https://docs.fluentbit.io/manual/data-pipeline/filters/parser',
    source: 'plugins/filter_parser/filter_parser.c',
    required: [['key_name'], ['parser']],
    props: {
      key_name: { type: 'string' },
      parser: { type: 'string', multi: true, parserRef: 'parser' },
      preserve_key: { type: 'bool' },
      reserve_data: { type: 'bool' },
      unescape_key: { type: 'string', deprecated: true },
    },
  },
  {
    // docs pipeline/filters/modify — plugins/filter_modify/modify.c config_map
    name: 'modify',
    kind: 'filter',
    doc: 'https://docs.fluentbit.io/manual/data-pipeline/filters/modify',
    source: 'plugins/filter_modify/modify.c',
    props: {
      set: { type: 'slist', multi: true, minTokens: 2 },
      add: { type: 'slist', multi: true, minTokens: 2 },
      remove: { type: 'slist', multi: true, minTokens: 1 },
      remove_wildcard: { type: 'slist', multi: true, minTokens: 1 },
      remove_regex: { type: 'slist', multi: true, minTokens: 1 },
      move_to_start: { type: 'slist', multi: true, minTokens: 1 },
      move_to_end: { type: 'slist', multi: true, minTokens: 1 },
      rename: { type: 'slist', multi: true, minTokens: 2 },
      hard_rename: { type: 'slist', multi: true, minTokens: 2 },
      copy: { type: 'slist', multi: true, minTokens: 2 },
      hard_copy: { type: 'slist', multi: true, minTokens: 2 },
      condition: { type: 'slist', multi: true, minTokens: 2 },
    },
  },
  {
    // docs pipeline/filters/record-modifier — plugins/filter_record_modifier/filter_modifier.c config_map
    name: 'record_modifier',
    kind: 'filter',
    doc: 'https://docs.fluentbit.io/manual/data-pipeline/filters/record-modifier',
    source: 'plugins/filter_record_modifier/filter_modifier.c',
    props: {
      record: { type: 'slist', multi: true, minTokens: 2 },
      remove_key: { type: 'string', multi: true },
      allowlist_key: { type: 'string', multi: true },
      whitelist_key: { type: 'string', multi: true },
      uuid_key: { type: 'string' },
    },
  },
  {
    // docs pipeline/filters/kubernetes — plugins/filter_kubernetes/kubernetes.c config_map.
    // Listed so configs using it validate; sidecarctl itself injects pod metadata through env vars.
    name: 'kubernetes',
    kind: 'filter',
    doc: 'https://docs.fluentbit.io/manual/data-pipeline/filters/kubernetes',
    source: 'plugins/filter_kubernetes/kubernetes.c',
    props: {
      buffer_size: { type: 'size' },
      kube_url: { type: 'string' },
      kube_ca_file: { type: 'string' },
      kube_ca_path: { type: 'string' },
      kube_token_file: { type: 'string' },
      kube_token_command: { type: 'string' },
      kube_token_ttl: { type: 'time' },
      kube_tag_prefix: { type: 'string' },
      kube_meta_preload_cache_dir: { type: 'string' },
      kube_meta_cache_ttl: { type: 'time' },
      kube_meta_namespace_cache_ttl: { type: 'time' },
      merge_log: { type: 'bool' },
      merge_log_key: { type: 'string' },
      merge_log_trim: { type: 'bool' },
      merge_parser: { type: 'string', parserRef: 'parser' },
      keep_log: { type: 'bool' },
      'tls.debug': { type: 'int' },
      'tls.verify': { type: 'bool' },
      'tls.verify_hostname': { type: 'bool' },
      'tls.vhost': { type: 'string' },
      use_journal: { type: 'bool' },
      use_tag_for_meta: { type: 'bool' },
      cache_use_docker_id: { type: 'bool' },
      regex_parser: { type: 'string', parserRef: 'parser' },
      'k8s-logging.parser': { type: 'bool' },
      'k8s-logging.exclude': { type: 'bool' },
      labels: { type: 'bool' },
      annotations: { type: 'bool' },
      namespace_labels: { type: 'bool' },
      namespace_annotations: { type: 'bool' },
      namespace_metadata_only: { type: 'bool' },
      owner_references: { type: 'bool' },
      dummy_meta: { type: 'bool' },
      dns_retries: { type: 'int' },
      dns_wait_time: { type: 'int' },
      use_kubelet: { type: 'bool' },
      kubelet_host: { type: 'string' },
      kubelet_port: { type: 'int' },
      use_pod_association: { type: 'bool' },
      set_platform: { type: 'string' },
    },
  },
  {
    // docs pipeline/outputs/standard-output — plugins/out_stdout/stdout.c config_map
    name: 'stdout',
    kind: 'output',
    doc: 'https://docs.fluentbit.io/manual/data-pipeline/outputs/standard-output',
    source: 'plugins/out_stdout/stdout.c',
    props: {
      format: { type: 'enum', values: ['msgpack', 'json', 'json_lines', 'json_stream'] },
      json_date_format: {
        type: 'enum',
        values: ['double', 'epoch', 'epoch_ms', 'iso8601', 'java_sql_timestamp'],
      },
      json_date_key: { type: 'string' },
    },
  },
  {
    // docs pipeline/outputs/forward — plugins/out_forward/forward.c config_map
    name: 'forward',
    kind: 'output',
    doc: 'https://docs.fluentbit.io/manual/data-pipeline/outputs/forward',
    source: 'plugins/out_forward/forward.c',
    network: true,
    tls: true,
    required: [['host', 'upstream', 'unix_path']],
    requiredNote:
      'Fluent Bit falls back to 127.0.0.1:24224, which is never the aggregator when running as a sidecar',
    props: {
      time_as_integer: { type: 'bool' },
      retain_metadata_in_forward_mode: { type: 'bool' },
      shared_key: { type: 'string' },
      self_hostname: { type: 'string' },
      empty_shared_key: { type: 'bool' },
      send_options: { type: 'bool' },
      require_ack_response: { type: 'bool' },
      username: { type: 'string' },
      password: { type: 'string' },
      unix_path: { type: 'string' },
      upstream: { type: 'string' },
      tag: { type: 'string' },
      compress: { type: 'enum', values: ['gzip', 'zstd'] },
      fluentd_compat: { type: 'bool' },
      add_option: { type: 'slist', multi: true, minTokens: 2 },
    },
  },
  {
    // docs pipeline/outputs/elasticsearch — plugins/out_es/es.c config_map (names in es_conf_prop.h)
    name: 'es',
    kind: 'output',
    doc: 'https://docs.fluentbit.io/manual/data-pipeline/outputs/elasticsearch',
    source: 'plugins/out_es/es.c',
    network: true,
    tls: true,
    required: [['host', 'cloud_id', 'upstream']],
    requiredNote: 'Fluent Bit falls back to 127.0.0.1:9200, which is never Elasticsearch in a sidecar',
    props: {
      index: { type: 'string' },
      type: { type: 'string' },
      suppress_type_name: { type: 'bool' },
      http_user: { type: 'string' },
      http_passwd: { type: 'string' },
      http_api_key: { type: 'string' },
      compress: { type: 'enum', values: ['gzip'] },
      cloud_id: { type: 'string' },
      cloud_auth: { type: 'string' },
      aws_auth: { type: 'bool' },
      aws_region: { type: 'string' },
      aws_sts_endpoint: { type: 'string' },
      aws_role_arn: { type: 'string' },
      aws_external_id: { type: 'string' },
      aws_service_name: { type: 'string' },
      aws_profile: { type: 'string' },
      logstash_format: { type: 'bool' },
      logstash_prefix: { type: 'string' },
      logstash_prefix_separator: { type: 'string' },
      logstash_prefix_key: { type: 'string' },
      logstash_dateformat: { type: 'string' },
      time_key: { type: 'string' },
      time_key_format: { type: 'string' },
      time_key_nanos: { type: 'bool' },
      include_tag_key: { type: 'bool' },
      tag_key: { type: 'string' },
      buffer_size: { type: 'size' },
      path: { type: 'string' },
      pipeline: { type: 'string' },
      generate_id: { type: 'bool' },
      write_operation: { type: 'enum', values: ['create', 'index', 'update', 'upsert'] },
      id_key: { type: 'string' },
      replace_dots: { type: 'bool' },
      current_time_index: { type: 'bool' },
      trace_output: { type: 'bool' },
      trace_error: { type: 'bool' },
      upstream: { type: 'string' },
    },
  },
  {
    // docs pipeline/outputs/loki — plugins/out_loki/loki.c config_map
    name: 'loki',
    kind: 'output',
    doc: 'https://docs.fluentbit.io/manual/data-pipeline/outputs/loki',
    source: 'plugins/out_loki/loki.c',
    network: true,
    tls: true,
    required: [['host']],
    requiredNote: 'Fluent Bit falls back to 127.0.0.1:3100, which is never Loki in a sidecar',
    props: {
      uri: { type: 'string' },
      tenant_id: { type: 'string' },
      tenant_id_key: { type: 'string' },
      labels: { type: 'clist' },
      structured_metadata: { type: 'clist' },
      structured_metadata_map_keys: { type: 'clist' },
      auto_kubernetes_labels: { type: 'bool' },
      drop_single_key: { type: 'string' },
      label_keys: { type: 'clist' },
      remove_keys: { type: 'clist' },
      line_format: { type: 'enum', values: ['json', 'key_value'] },
      label_map_path: { type: 'string' },
      http_user: { type: 'string' },
      http_passwd: { type: 'string' },
      buffer_size: { type: 'size' },
      bearer_token: { type: 'string' },
      header: { type: 'slist', multi: true, minTokens: 2 },
      compress: { type: 'enum', values: ['gzip'] },
    },
  },
  {
    // docs pipeline/outputs/http — plugins/out_http/http.c config_map (oauth2.* added in v5.0)
    name: 'http',
    kind: 'output',
    doc: 'https://docs.fluentbit.io/manual/data-pipeline/outputs/http',
    source: 'plugins/out_http/http.c',
    network: true,
    tls: true,
    required: [['host']],
    requiredNote: 'Fluent Bit falls back to 127.0.0.1:80, which is never the collector in a sidecar',
    props: {
      proxy: { type: 'string' },
      allow_duplicated_headers: { type: 'bool' },
      log_response_payload: { type: 'bool' },
      http_user: { type: 'string' },
      http_passwd: { type: 'string' },
      'oauth2.enable': { type: 'bool' },
      'oauth2.token_url': { type: 'string' },
      'oauth2.client_id': { type: 'string' },
      'oauth2.client_secret': { type: 'string' },
      'oauth2.scope': { type: 'string' },
      'oauth2.audience': { type: 'string' },
      'oauth2.auth_method': { type: 'enum', values: ['basic', 'post', 'private_key_jwt'] },
      aws_auth: { type: 'bool' },
      aws_service: { type: 'string' },
      aws_region: { type: 'string' },
      aws_sts_endpoint: { type: 'string' },
      aws_role_arn: { type: 'string' },
      aws_external_id: { type: 'string' },
      aws_profile: { type: 'string' },
      header_tag: { type: 'string' },
      format: { type: 'enum', values: ['msgpack', 'json', 'json_stream', 'json_lines', 'gelf'] },
      json_date_format: {
        type: 'enum',
        values: ['double', 'epoch', 'epoch_ms', 'iso8601', 'java_sql_timestamp'],
      },
      json_date_key: { type: 'string' },
      compress: { type: 'enum', values: ['gzip', 'snappy', 'zstd'] },
      header: { type: 'slist', multi: true, minTokens: 2 },
      uri: { type: 'string' },
      http_method: { type: 'enum', values: ['POST', 'PUT'] },
      gelf_timestamp_key: { type: 'string' },
      gelf_host_key: { type: 'string' },
      gelf_short_message_key: { type: 'string' },
      gelf_full_message_key: { type: 'string' },
      gelf_level_key: { type: 'string' },
      body_key: { type: 'string' },
      headers_key: { type: 'string' },
    },
  },
];

/**
 * Plugins that exist in the pinned release but have no property table here: the name is accepted
 * and their properties are not checked.
 */
export const FLUENT_BIT_OTHER_PLUGINS: Readonly<Record<FluentBitPluginKind, readonly string[]>> = {
  input: [
    'cpu', 'mem', 'disk', 'netif', 'proc', 'kmsg', 'head', 'exec', 'random', 'stdin', 'serial',
    'udp', 'http', 'syslog', 'systemd', 'mqtt', 'docker', 'docker_events', 'health',
    'kubernetes_events', 'node_exporter_metrics', 'prometheus_scrape', 'prometheus_remote_write',
    'prometheus_textfile', 'fluentbit_metrics', 'fluentbit_logs', 'opentelemetry', 'elasticsearch',
    'splunk', 'statsd', 'collectd', 'nginx_metrics', 'thermal', 'kafka', 'process_exporter_metrics',
    'podman_metrics', 'event_type', 'blob',
  ],
  filter: [
    'grep', 'nest', 'lua', 'rewrite_tag', 'throttle', 'multiline', 'type_converter', 'expect',
    'aws', 'ecs', 'checklist', 'geoip2', 'log_to_metrics', 'sysinfo', 'wasm', 'tensorflow',
    'alter_size', 'nightfall',
  ],
  output: [
    'null', 'file', 'tcp', 'udp', 'syslog', 'counter', 'exit', 'opensearch', 'splunk', 'datadog',
    'kafka', 'cloudwatch_logs', 'kinesis_firehose', 'kinesis_streams', 's3', 'stackdriver',
    'bigquery', 'azure', 'azure_blob', 'azure_kusto', 'azure_logs_ingestion', 'gelf', 'influxdb',
    'logdna', 'nrlogs', 'opentelemetry', 'prometheus_exporter', 'prometheus_remote_write', 'pgsql',
    'skywalking', 'slack', 'websocket', 'flowcounter', 'td', 'vivo_exporter', 'chronicle', 'oracle_log_analytics',
  ],
};

/** Built-in multiline parsers usable in `multiline.parser` without defining them. */
export const FLUENT_BIT_BUILTIN_MULTILINE_PARSERS = ['docker', 'cri', 'go', 'python', 'java', 'ruby'] as const;

/** docs administration/configuring-fluent-bit/yaml/service-section (keys and storage.* children). */
const SERVICE_KEYS: Record<string, FluentBitProp> = {
  flush: { type: 'float' },
  grace: { type: 'int' },
  daemon: { type: 'bool' },
  coro_stack_size: { type: 'int' },
  'dns.mode': { type: 'enum', values: ['TCP', 'UDP'] },
  'dns.prefer_ipv4': { type: 'bool' },
  'dns.prefer_ipv6': { type: 'bool' },
  'dns.resolver': { type: 'enum', values: ['LEGACY', 'ASYNC'] },
  enable_chunk_trace: { type: 'bool' },
  hc_errors_count: { type: 'int' },
  hc_period: { type: 'int' },
  hc_retry_failure_count: { type: 'int' },
  health_check: { type: 'bool' },
  hot_reload: { type: 'bool' },
  'hot_reload.ensure_thread_safety': { type: 'bool' },
  'hot_reload.timeout': { type: 'int' },
  http_listen: { type: 'string' },
  http_port: { type: 'int' },
  http_server: { type: 'bool' },
  'json.convert_nan_to_null': { type: 'bool' },
  'json.escape_unicode': { type: 'bool' },
  log_file: { type: 'string' },
  log_level: { type: 'enum', values: LOG_LEVELS },
  multiline_buffer_limit: { type: 'size' },
  parsers_file: { type: 'string', multi: true },
  plugins_file: { type: 'string' },
  'scheduler.base': { type: 'int' },
  'scheduler.cap': { type: 'int' },
  'sp.convert_from_str_to_num': { type: 'bool' },
  streams_file: { type: 'string' },
  'windows.maxstdio': { type: 'int' },
  'storage.backlog.flush_on_shutdown': { type: 'bool' },
  'storage.backlog.mem_limit': { type: 'size' },
  'storage.checksum': { type: 'bool' },
  'storage.delete_irrecoverable_chunks': { type: 'bool' },
  'storage.inherit': { type: 'bool' },
  'storage.keep.rejected': { type: 'bool' },
  'storage.max_chunks_up': { type: 'int' },
  'storage.metrics': { type: 'bool' },
  'storage.path': { type: 'string' },
  'storage.rejected.path': { type: 'string' },
  'storage.sync': { type: 'enum', values: ['normal', 'full'] },
  'storage.trim_files': { type: 'bool' },
  'storage.type': { type: 'enum', values: ['memory', 'filesystem', 'memrb'] },
};

/** docs pipeline/parsers/configuring-parser (YAML `parsers` entries). */
const PARSER_KEYS: Record<string, FluentBitProp> = {
  name: { type: 'string' },
  format: { type: 'enum', values: ['json', 'regex', 'ltsv', 'logfmt'] },
  regex: { type: 'string' },
  time_key: { type: 'string' },
  time_format: { type: 'string' },
  time_offset: { type: 'string' },
  time_keep: { type: 'bool' },
  time_strict: { type: 'bool' },
  time_system_timezone: { type: 'bool' },
  types: { type: 'string' },
  decode_field: { type: 'string', multi: true },
  decode_field_as: { type: 'string', multi: true },
  skip_empty_values: { type: 'bool' },
};

/** docs administration/configuring-fluent-bit/yaml/multiline-parsers-section. */
const MULTILINE_PARSER_KEYS: Record<string, FluentBitProp> = {
  name: { type: 'string' },
  type: { type: 'enum', values: ['regex'] },
  parser: { type: 'string', parserRef: 'parser' },
  key_content: { type: 'string' },
  key_pattern: { type: 'string' },
  key_group: { type: 'string' },
  flush_timeout: { type: 'int' },
  rules: { type: 'string' }, // validated structurally below
};

const TOP_LEVEL_SECTIONS = [
  'env',
  'includes',
  'service',
  'pipeline',
  'parsers',
  'multiline_parsers',
  'plugins',
  'upstream_servers',
  'customs',
] as const;

// ---------------------------------------------------------------------------------------------
// Value shapes
// ---------------------------------------------------------------------------------------------

const ENV_REF = /\$\{[^}]+\}/;
const BOOL_WORDS = new Set(['true', 'false', 'on', 'off', 'yes', 'no']);
/** flb_utils_size_to_bytes: number, optional K/M/G optionally followed by B, or "false". */
const SIZE_RE = /^\d+(\.\d+)?([kmg]b?)?$/i;
/** flb_utils_time_to_seconds: number with optional s/m/h/d suffix. */
const TIME_RE = /^\d+(\.\d+)?[smhd]?$/i;
const INT_RE = /^-?\d+$/;
const FLOAT_RE = /^-?\d+(\.\d+)?$/;

type Scalar = string | number | boolean;

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Returns an error message, or null when the scalar fits the property type. */
function checkScalar(prop: FluentBitProp, value: Scalar): string | null {
  if (typeof value === 'string' && ENV_REF.test(value)) return null;
  const s = String(value).trim();
  switch (prop.type) {
    case 'string':
    case 'clist':
      return s === '' ? 'must not be empty' : null;
    case 'slist': {
      const tokens = s.split(/\s+/).filter(Boolean);
      const min = prop.minTokens ?? 1;
      return tokens.length < min
        ? `expects at least ${min} space-separated value${min > 1 ? 's' : ''} (e.g. "key value"), got ${JSON.stringify(s)}`
        : null;
    }
    case 'int':
      return typeof value === 'number' ? (Number.isInteger(value) ? null : `must be an integer, got ${s}`) : INT_RE.test(s) ? null : `must be an integer, got ${JSON.stringify(s)}`;
    case 'float':
      return typeof value === 'number' || FLOAT_RE.test(s) ? null : `must be a number, got ${JSON.stringify(s)}`;
    case 'bool':
      return typeof value === 'boolean' || BOOL_WORDS.has(s.toLowerCase())
        ? null
        : `must be a boolean (on/off/true/false/yes/no), got ${JSON.stringify(s)}`;
    case 'size':
      return typeof value === 'number'
        ? value >= 0
          ? null
          : `must be a size, got ${s}`
        : SIZE_RE.test(s) || s.toLowerCase() === 'false'
          ? null
          : `must be a size such as 5M, 512KB or 1G (K/M/G with optional B), got ${JSON.stringify(s)}`;
    case 'size_or_off':
      return typeof value === 'boolean' && !value
        ? null
        : typeof value === 'number' || SIZE_RE.test(s) || ['off', 'false'].includes(s.toLowerCase())
          ? null
          : `must be a size such as 5M or 1G, or off, got ${JSON.stringify(s)}`;
    case 'time':
      return typeof value === 'number' || TIME_RE.test(s)
        ? null
        : `must be a duration in seconds, optionally with s/m/h/d (e.g. 5, 10s, 1m), got ${JSON.stringify(s)}`;
    case 'retry_limit':
      if (typeof value === 'boolean') return value ? 'must be a positive integer, no_limits, off/false or no_retries' : null;
      if (['no_limits', 'false', 'off', 'no_retries'].includes(s.toLowerCase())) return null;
      return INT_RE.test(s) && Number(s) > 0 ? null : `must be a positive integer, no_limits, off/false or no_retries, got ${JSON.stringify(s)}`;
    case 'enum': {
      const values = prop.values ?? [];
      return values.some((v) => v.toLowerCase() === s.toLowerCase())
        ? null
        : `must be one of ${values.join(', ')}, got ${JSON.stringify(s)}`;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

type Path = (string | number)[];

interface Ctx {
  issues: ConfigIssue[];
  /** Parser names defined in the file, lowercased; null when unknowable (parsers_file/includes). */
  parsers: Set<string> | null;
  multilineParsers: Set<string> | null;
  /** References to check once all parser definitions are known. */
  refs: { path: Path; name: string; kind: 'parser' | 'multiline' }[];
}

function add(ctx: Ctx, path: Path, message: string): void {
  ctx.issues.push({ path, message });
}

const PLUGIN_INDEX = new Map<string, FluentBitPluginSpec>(
  FLUENT_BIT_PLUGINS.map((p) => [`${p.kind}:${p.name}`, p]),
);

/** Looks up a plugin table (names are matched case-insensitively). */
export function getFluentBitPlugin(kind: FluentBitPluginKind, name: string): FluentBitPluginSpec | undefined {
  return PLUGIN_INDEX.get(`${kind}:${name.toLowerCase()}`);
}

function knownNames(kind: FluentBitPluginKind): string[] {
  return [...FLUENT_BIT_PLUGINS.filter((p) => p.kind === kind).map((p) => p.name), ...FLUENT_BIT_OTHER_PLUGINS[kind]];
}


const NAME_ALIASES: Record<string, string> = { elasticsearch: 'es', standard_output: 'stdout' };

function suggest(name: string, candidates: readonly string[]): string {
  const lower = name.toLowerCase();
  const alias = NAME_ALIASES[lower];
  if (alias && candidates.includes(alias) && alias !== lower) return ` (did you mean '${alias}'?)`;
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(lower.length / 3)) ? ` (did you mean '${best}'?)` : '';
}

/** Checks one property value (scalar or, for multi properties, a list of scalars). */
function checkValue(ctx: Ctx, path: Path, key: string, prop: FluentBitProp, value: unknown): void {
  if (value === null || value === undefined) {
    add(ctx, path, `'${key}' has no value`);
    return;
  }
  const values: unknown[] = Array.isArray(value) ? value : [value];
  if (Array.isArray(value) && !prop.multi) {
    add(ctx, path, `'${key}' takes a single value, not a list`);
    return;
  }
  values.forEach((v, i) => {
    const p = Array.isArray(value) ? [...path, i] : path;
    if (!isScalar(v)) {
      add(ctx, p, `'${key}' must be a scalar value, got ${Array.isArray(v) ? 'a list' : 'a map'}`);
      return;
    }
    const err = checkScalar(prop, v);
    if (err) add(ctx, p, `'${key}' ${err}`);
    if (prop.parserRef && typeof v === 'string' && !ENV_REF.test(v)) {
      const names = prop.type === 'clist' ? v.split(',').map((x) => x.trim()).filter(Boolean) : [v.trim()];
      for (const n of names) ctx.refs.push({ path: p, name: n, kind: prop.parserRef });
    }
  });
}

/**
 * Validates a map of properties against a table. Keys are compared case-insensitively; a key
 * given twice with different case is reported.
 */
function checkProps(
  ctx: Ctx,
  base: Path,
  entry: Record<string, unknown>,
  table: Readonly<Record<string, FluentBitProp>>,
  describe: string,
  opts: {
    prefixProps?: Readonly<Record<string, FluentBitProp>>;
    skip?: ReadonlySet<string>;
  } = {},
): void {
  const seen = new Map<string, string>();
  const lowerTable = new Map(Object.entries(table).map(([k, v]) => [k.toLowerCase(), v]));
  for (const [key, value] of Object.entries(entry)) {
    const lk = key.toLowerCase();
    const path = [...base, key];
    const prev = seen.get(lk);
    if (prev !== undefined) {
      add(ctx, path, `'${key}' duplicates '${prev}' (property names are case-insensitive)`);
      continue;
    }
    seen.set(lk, key);
    if (opts.skip?.has(lk)) continue;
    let prop = lowerTable.get(lk);
    if (!prop && opts.prefixProps) {
      for (const [prefix, p] of Object.entries(opts.prefixProps)) {
        if (lk.startsWith(prefix) && lk.length > prefix.length) prop = p;
      }
    }
    if (!prop) {
      add(ctx, path, `unknown property '${key}' for ${describe}${suggest(key, [...lowerTable.keys()])}`);
      continue;
    }
    if (prop.deprecated) add(ctx, path, `'${key}' is deprecated and ignored by ${describe}`);
    checkValue(ctx, path, key, prop, value);
  }
}

function checkPlugin(ctx: Ctx, kind: FluentBitPluginKind, section: 'inputs' | 'filters' | 'outputs', entry: unknown, index: number): void {
  const base: Path = ['pipeline', section, index];
  if (!isPlainObject(entry)) {
    add(ctx, base, `each ${kind} must be a map of properties`);
    return;
  }
  const nameKey = Object.keys(entry).find((k) => k.toLowerCase() === 'name');
  const rawName = nameKey === undefined ? undefined : entry[nameKey];
  if (nameKey === undefined || typeof rawName !== 'string' || rawName.trim() === '') {
    add(ctx, nameKey === undefined ? base : [...base, nameKey], `${kind} needs a 'name' naming the plugin`);
    return;
  }
  const name = rawName.trim();
  const spec = getFluentBitPlugin(kind, name);
  const exists = spec !== undefined || FLUENT_BIT_OTHER_PLUGINS[kind].includes(name.toLowerCase());
  if (!exists) {
    add(ctx, [...base, nameKey], `unknown ${kind} plugin '${name}' in Fluent Bit ${FLUENT_BIT_VERSION}${suggest(name, knownNames(kind))}`);
    return;
  }

  if (kind !== 'input') {
    const hasMatch = Object.keys(entry).some((k) => ['match', 'match_regex'].includes(k.toLowerCase()));
    if (!hasMatch) add(ctx, [...base, 'match'], `${kind} '${name}' needs 'match' (or 'match_regex'): without it no record reaches it`);
  }

  // Keys the YAML loader handles itself rather than the plugin (docs yaml/pipeline-section:
  // inputs and outputs may carry `processors` and `parsers`).
  const skip = new Set<string>(kind === 'filter' ? [] : ['processors', 'parsers']);
  for (const k of Object.keys(entry)) {
    if (skip.has(k.toLowerCase()) && !isPlainObject(entry[k]) && !Array.isArray(entry[k])) {
      add(ctx, [...base, k], `'${k}' must be a map (logs/metrics/traces) or list`);
    }
  }
  if (!spec) {
    // Known plugin without a table: only the shared properties' shapes can be checked.
    const common = kind === 'input' ? INPUT_COMMON : kind === 'filter' ? FILTER_COMMON : OUTPUT_COMMON;
    const lowerCommon = new Map(Object.entries(common).map(([k, v]) => [k.toLowerCase(), v]));
    for (const [k, v] of Object.entries(entry)) {
      const p = lowerCommon.get(k.toLowerCase());
      if (p) checkValue(ctx, [...base, k], k, p, v);
    }
    return;
  }

  const table: Record<string, FluentBitProp> = {
    ...(kind === 'input' ? INPUT_COMMON : kind === 'filter' ? FILTER_COMMON : OUTPUT_COMMON),
    ...(spec.tls ? TLS_COMMON : {}),
    ...(spec.tls && kind === 'input' ? TLS_INPUT_ONLY : {}),
    ...(spec.network ? (kind === 'input' ? NET_SERVER : NET_CLIENT) : {}),
    ...spec.props,
  };
  const describe = `${kind} '${spec.name}'`;
  for (const k of Object.keys(entry)) {
    const lk = k.toLowerCase();
    if (!spec.tls && !(lk in table) && (lk === 'tls' || lk.startsWith('tls.'))) {
      add(ctx, [...base, k], `${describe} does not support TLS ('${k}')`);
      skip.add(lk);
    }
    if (!spec.network && lk.startsWith('net.')) {
      add(ctx, [...base, k], `${describe} opens no network connection: '${k}' does not apply`);
      skip.add(lk);
    }
  }
  checkProps(ctx, base, entry, table, describe, { prefixProps: spec.prefixProps, skip });

  const present = new Set(Object.keys(entry).map((k) => k.toLowerCase()));
  for (const group of spec.required ?? []) {
    if (!group.some((k) => present.has(k))) {
      const why = spec.requiredNote && group.includes('host') ? `: ${spec.requiredNote}` : '';
      add(
        ctx,
        [...base, group[0]!],
        `${describe} requires '${group[0]}'${group.length > 1 ? ` (or ${group.slice(1).map((g) => `'${g}'`).join(', ')})` : ''}${why}`,
      );
    }
  }
}

function checkService(ctx: Ctx, service: unknown): void {
  if (!isPlainObject(service)) {
    add(ctx, ['service'], "'service' must be a map");
    return;
  }
  // Nested maps (e.g. storage: {path: ...}) are the same keys joined with dots.
  const flat: Record<string, unknown> = {};
  const paths = new Map<string, Path>();
  const walk = (obj: Record<string, unknown>, prefix: string, path: Path): void => {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (isPlainObject(v)) walk(v, key, [...path, k]);
      else {
        flat[key] = v;
        paths.set(key, [...path, k]);
      }
    }
  };
  walk(service, '', ['service']);
  const sub: Ctx = { ...ctx, issues: [] };
  checkProps(sub, [], flat, SERVICE_KEYS, "the 'service' section");
  // Re-root the paths produced on flattened keys.
  for (const issue of sub.issues) {
    const [first, ...rest] = issue.path;
    const real = typeof first === 'string' ? paths.get(first) : undefined;
    ctx.issues.push({ path: real ? [...real, ...rest] : ['service', ...issue.path], message: issue.message });
  }
}

function checkParsers(ctx: Ctx, list: unknown, section: 'parsers' | 'multiline_parsers'): void {
  if (!Array.isArray(list)) {
    add(ctx, [section], `'${section}' must be a list`);
    return;
  }
  list.forEach((entry, i) => {
    const base: Path = [section, i];
    if (!isPlainObject(entry)) {
      add(ctx, base, 'each parser must be a map');
      return;
    }
    const table = section === 'parsers' ? PARSER_KEYS : MULTILINE_PARSER_KEYS;
    const rules = Object.entries(entry).find(([k]) => k.toLowerCase() === 'rules');
    const rest = Object.fromEntries(Object.entries(entry).filter(([k]) => k.toLowerCase() !== 'rules'));
    checkProps(ctx, base, rest, table, `a ${section === 'parsers' ? 'parser' : 'multiline parser'}`);
    const get = (k: string): unknown => Object.entries(entry).find(([key]) => key.toLowerCase() === k)?.[1];
    const name = get('name');
    if (typeof name !== 'string' || name.trim() === '') add(ctx, [...base, 'name'], "parser needs a 'name'");
    else (section === 'parsers' ? ctx.parsers : ctx.multilineParsers)?.add(name.trim().toLowerCase());
    if (section === 'parsers') {
      const format = get('format');
      if (format === undefined) add(ctx, [...base, 'format'], "parser needs a 'format' (json, regex, ltsv or logfmt)");
      if (typeof format === 'string' && format.toLowerCase() === 'regex' && get('regex') === undefined) {
        add(ctx, [...base, 'regex'], "a 'regex' parser needs a 'regex'");
      }
    } else {
      if (get('type') === undefined) add(ctx, [...base, 'type'], "multiline parser needs 'type: regex'");
      if (rules === undefined) add(ctx, [...base, 'rules'], "multiline parser needs 'rules'");
      else if (!Array.isArray(rules[1]) || rules[1].length === 0) add(ctx, [...base, rules[0]], "'rules' must be a non-empty list");
      else {
        rules[1].forEach((rule, j) => {
          const rp: Path = [...base, rules[0], j];
          if (!isPlainObject(rule)) {
            add(ctx, rp, 'each rule must be a map with state, regex and next_state');
            return;
          }
          checkProps(ctx, rp, rule, { state: { type: 'string' }, regex: { type: 'string' }, next_state: { type: 'string' } }, 'a multiline rule');
          for (const k of ['state', 'regex']) if (!(k in rule)) add(ctx, [...rp, k], `rule needs '${k}'`);
          if (j === 0 && rule['state'] !== undefined && rule['state'] !== 'start_state') {
            add(ctx, [...rp, 'state'], "the first rule's state must be 'start_state'");
          }
        });
      }
    }
  });
}

/**
 * Validates a parsed Fluent Bit YAML configuration for {@link FLUENT_BIT_VERSION}.
 * Returns every problem found; an empty list means the configuration passed.
 */
export function validateFluentBitConfig(config: unknown): ConfigIssue[] {
  const ctx: Ctx = { issues: [], parsers: new Set(), multilineParsers: new Set(), refs: [] };
  if (!isPlainObject(config)) {
    add(ctx, [], 'a Fluent Bit YAML configuration must be a map of sections');
    return ctx.issues;
  }

  for (const key of Object.keys(config)) {
    if (!(TOP_LEVEL_SECTIONS as readonly string[]).includes(key)) {
      add(ctx, [key], `unknown top-level section '${key}'${suggest(key, TOP_LEVEL_SECTIONS)}`);
    }
  }

  // Definitions whose content we cannot see make parser references unverifiable.
  const service = config['service'];
  const hasParsersFile =
    isPlainObject(service) && Object.keys(service).some((k) => k.toLowerCase() === 'parsers_file');
  if (hasParsersFile || config['includes'] !== undefined) {
    ctx.parsers = null;
    ctx.multilineParsers = null;
  }

  if (config['env'] !== undefined) {
    const env = config['env'];
    if (!isPlainObject(env)) add(ctx, ['env'], "'env' must be a map of variable names to values");
    else for (const [k, v] of Object.entries(env)) if (!isScalar(v)) add(ctx, ['env', k], `env variable '${k}' must be a scalar`);
  }
  if (config['includes'] !== undefined) {
    const inc = config['includes'];
    if (!Array.isArray(inc) || inc.some((f) => typeof f !== 'string')) add(ctx, ['includes'], "'includes' must be a list of file names");
  }
  if (service !== undefined) checkService(ctx, service);
  if (config['parsers'] !== undefined) checkParsers(ctx, config['parsers'], 'parsers');
  if (config['multiline_parsers'] !== undefined) checkParsers(ctx, config['multiline_parsers'], 'multiline_parsers');

  const pipeline = config['pipeline'];
  if (pipeline === undefined) {
    add(ctx, ['pipeline'], "missing 'pipeline' section: nothing would be collected");
  } else if (!isPlainObject(pipeline)) {
    add(ctx, ['pipeline'], "'pipeline' must be a map with inputs, filters and outputs");
  } else {
    for (const key of Object.keys(pipeline)) {
      if (!['inputs', 'filters', 'outputs'].includes(key)) {
        add(ctx, ['pipeline', key], `unknown pipeline section '${key}' (expected inputs, filters, outputs)`);
      }
    }
    const sections = [
      ['inputs', 'input'],
      ['filters', 'filter'],
      ['outputs', 'output'],
    ] as const;
    for (const [section, kind] of sections) {
      const list = pipeline[section];
      if (list === undefined || list === null) {
        if (section !== 'filters') add(ctx, ['pipeline', section], `pipeline needs at least one ${kind}`);
        continue;
      }
      if (!Array.isArray(list)) {
        add(ctx, ['pipeline', section], `'${section}' must be a list of ${kind} definitions`);
        continue;
      }
      if (list.length === 0 && section !== 'filters') add(ctx, ['pipeline', section], `pipeline needs at least one ${kind}`);
      list.forEach((entry, i) => checkPlugin(ctx, kind, section, entry, i));
    }
  }

  for (const ref of ctx.refs) {
    if (ref.kind === 'parser') {
      if (ctx.parsers && !ctx.parsers.has(ref.name.toLowerCase())) {
        add(ctx, ref.path, `parser '${ref.name}' is not defined in 'parsers' (Fluent Bit has no built-in '${ref.name}' without a parsers_file)`);
      }
    } else if (
      ctx.multilineParsers &&
      !ctx.multilineParsers.has(ref.name.toLowerCase()) &&
      !(FLUENT_BIT_BUILTIN_MULTILINE_PARSERS as readonly string[]).includes(ref.name.toLowerCase())
    ) {
      add(
        ctx,
        ref.path,
        `multiline parser '${ref.name}' is neither built in (${FLUENT_BIT_BUILTIN_MULTILINE_PARSERS.join(', ')}) nor defined in 'multiline_parsers'`,
      );
    }
  }
  return ctx.issues;
}

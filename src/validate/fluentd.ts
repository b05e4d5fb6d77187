/**
 * Parser and static validator for Fluentd's native configuration syntax (v1 format), for the
 * pinned Fluentd release and the plugins the chosen container image ships.
 *
 * Sources:
 * - Syntax: docs.fluentd.org/configuration/config-file (directives, `key value` parameters,
 *   quoting, multi-line arrays/hashes, `@include`, embedded Ruby `"#{...}"`).
 * - Core plugin parameters: the `config_param` / `config_section` declarations in fluentd's
 *   `lib/fluent/plugin/*.rb` (in_tail, in_forward, in_sample, out_stdout, out_forward, out_file,
 *   out_null, out_copy, filter_record_transformer, filter_grep, filter_parser, parser_*,
 *   formatter_*, buf_*, output.rb `<buffer>`/`<secondary>`, plugin_helper/inject.rb), cross-checked
 *   with docs.fluentd.org/{input,output,filter,parser,formatter,buffer}/<name>.
 * - out_elasticsearch: uken/fluent-plugin-elasticsearch `lib/fluent/plugin/out_elasticsearch.rb`.
 * - out_loki: grafana/loki `clients/cmd/fluentd/lib/fluent/plugin/out_loki.rb`.
 * - parser multi_format: repeatedly/fluent-plugin-multi-format-parser README.
 * - filter record_modifier: repeatedly/fluent-plugin-record-modifier README.
 *
 * Fluentd itself only *warns* about unknown parameters and silently turns a malformed size into 0
 * (unless `strict_config_value`); this validator reports both as errors.
 */
import type { ConfigIssue } from './issue.js';

/** Latest stable release with a published image tag found (fluent/fluentd:v1.19.3-debian-2.x). */
export const FLUENTD_VERSION = '1.19.3';

export type FluentdSeverity = 'error' | 'warning';

/** A problem found in a Fluentd configuration text, with its 1-based line. */
export interface FluentdIssue extends ConfigIssue {
  line: number;
  severity: FluentdSeverity;
}

export interface FluentdParam {
  key: string;
  /** Value with surrounding quotes removed (escapes in double quotes resolved). */
  value: string;
  /** How the value was written. */
  quoting: 'none' | 'double' | 'single';
  line: number;
}

export interface FluentdDirective {
  /** Element name: source, match, filter, label, system, parse, buffer, server, ... */
  name: string;
  /** Text between the name and `>`: the match pattern, `@LABEL`, buffer chunk keys, ... ('' if none). */
  arg: string;
  line: number;
  endLine: number;
  params: FluentdParam[];
  children: FluentdDirective[];
}

export interface FluentdParseResult {
  /** Top-level directives (a partial tree when there are syntax issues). */
  directives: FluentdDirective[];
  /** `key value` lines found outside any directive (only `@include` is meaningful there). */
  topLevelParams: FluentdParam[];
  /** Syntax problems: unbalanced or malformed tags, unterminated strings. */
  issues: FluentdIssue[];
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

const OPEN_RE = /^<\s*([A-Za-z0-9_.-]+)(?:\s+([^>]*?))?\s*>\s*(?:#.*)?$/;
const CLOSE_RE = /^<\/\s*([A-Za-z0-9_.-]+)\s*>\s*(?:#.*)?$/;

interface Frame {
  dir: FluentdDirective;
}

/** Index of the closing quote of a string starting at `start` (the opening quote), or -1. */
function findClosingQuote(s: string, start: number, quote: '"' | "'"): number {
  for (let i = start + 1; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === quote) return i;
  }
  return -1;
}

function unescapeDouble(s: string): string {
  return s.replace(/\\(.)/gs, (_, c: string) => {
    switch (c) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case '"':
        return '"';
      case '\\':
        return '\\';
      default:
        return `\\${c}`;
    }
  });
}

/** Bracket depth change of a line, ignoring brackets inside quoted strings. */
function bracketDepth(s: string): number {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"' || c === "'") {
      const end = findClosingQuote(s, i, c);
      if (end === -1) return depth;
      i = end;
    } else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
  }
  return depth;
}

/**
 * Parses Fluentd's configuration syntax into a directive tree with line numbers. Never throws:
 * syntax problems are returned in `issues` and parsing continues past them.
 */
export function parseFluentdConfig(text: string): FluentdParseResult {
  const lines = text.split(/\r?\n/);
  const directives: FluentdDirective[] = [];
  const topLevelParams: FluentdParam[] = [];
  const issues: FluentdIssue[] = [];
  const stack: Frame[] = [];
  const syntax = (line: number, message: string, path: (string | number)[] = []): void => {
    issues.push({ path, message, line, severity: 'error' });
  };
  const pathOf = (): (string | number)[] => {
    const path: (string | number)[] = [];
    let siblings = directives;
    for (const { dir } of stack) {
      path.push(dir.name, siblings.filter((d) => d.name === dir.name).indexOf(dir));
      siblings = dir.children;
    }
    return path;
  };

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;

    if (line.startsWith('</')) {
      const m = CLOSE_RE.exec(line);
      if (!m) {
        syntax(lineNo, `malformed closing tag: ${line}`, pathOf());
        continue;
      }
      const name = m[1]!;
      const top = stack[stack.length - 1];
      if (!top) {
        syntax(lineNo, `closing </${name}> has no matching <${name}>`);
        continue;
      }
      if (top.dir.name === name) {
        top.dir.endLine = lineNo;
        stack.pop();
        continue;
      }
      const depth = stack.map((f) => f.dir.name).lastIndexOf(name);
      if (depth === -1) {
        syntax(lineNo, `closing </${name}> does not match the open <${top.dir.name}> (line ${top.dir.line})`, pathOf());
        continue;
      }
      // Close the inner unclosed elements, reporting each.
      while (stack.length > depth + 1) {
        const f = stack.pop()!;
        f.dir.endLine = lineNo;
        syntax(f.dir.line, `<${f.dir.name}> is not closed before </${name}> on line ${lineNo}`);
      }
      stack.pop()!.dir.endLine = lineNo;
      continue;
    }

    if (line.startsWith('<')) {
      const m = OPEN_RE.exec(line);
      if (!m) {
        syntax(lineNo, `malformed directive: ${line}`, pathOf());
        continue;
      }
      const dir: FluentdDirective = {
        name: m[1]!,
        arg: (m[2] ?? '').trim(),
        line: lineNo,
        endLine: lineNo,
        params: [],
        children: [],
      };
      const parent = stack[stack.length - 1];
      (parent ? parent.dir.children : directives).push(dir);
      stack.push({ dir });
      continue;
    }

    // Parameter line: key, then optional value.
    const km = /^(\S+)(?:\s+(.*))?$/.exec(line);
    const key = km?.[1] ?? line;
    let rest = (km?.[2] ?? '').trim();
    let value = rest;
    let quoting: FluentdParam['quoting'] = 'none';
    if (rest.startsWith('"') || rest.startsWith("'")) {
      const q = rest[0] as '"' | "'";
      let joined = rest;
      let end = findClosingQuote(joined, 0, q);
      let j = i;
      while (end === -1 && j + 1 < lines.length) {
        j++;
        joined += `\n${lines[j]!}`;
        end = findClosingQuote(joined, 0, q);
      }
      if (end === -1) {
        syntax(lineNo, `unterminated ${q === '"' ? 'double' : 'single'}-quoted value for '${key}'`, [...pathOf(), key]);
        i = j;
        continue;
      }
      const after = joined.slice(end + 1).trim();
      if (after !== '' && !after.startsWith('#')) {
        syntax(j + 1, `unexpected text after the quoted value of '${key}': ${after}`, [...pathOf(), key]);
      }
      const body = joined.slice(1, end);
      value = q === '"' ? unescapeDouble(body) : body.replace(/\\'/g, "'").replace(/\\\\/g, '\\');
      quoting = q === '"' ? 'double' : 'single';
      i = j;
    } else if (rest.startsWith('[') || rest.startsWith('{')) {
      let depth = bracketDepth(rest);
      let j = i;
      while (depth > 0 && j + 1 < lines.length) {
        j++;
        const next = lines[j]!.trim();
        rest += `\n${next}`;
        depth += bracketDepth(next);
      }
      if (depth > 0) syntax(lineNo, `unterminated ${rest[0] === '[' ? 'array' : 'hash'} value for '${key}'`, [...pathOf(), key]);
      value = rest;
      i = j;
    } else {
      // Unquoted value: a '#' preceded by whitespace starts a comment.
      value = rest.replace(/\s+#.*$/, '').trim();
    }

    const param: FluentdParam = { key, value, quoting, line: lineNo };
    const top = stack[stack.length - 1];
    if (top) top.dir.params.push(param);
    else topLevelParams.push(param);
  }

  for (const f of stack) {
    syntax(f.dir.line, `<${f.dir.name}${f.dir.arg ? ` ${f.dir.arg}` : ''}> is never closed`);
    f.dir.endLine = lines.length;
  }
  return { directives, topLevelParams, issues };
}

// ---------------------------------------------------------------------------------------------
// Plugin catalogue (data)
// ---------------------------------------------------------------------------------------------

export type FluentdParamType =
  | 'string'
  | 'integer'
  | 'float'
  | 'bool'
  | 'size'
  | 'time'
  | 'enum'
  | 'array'
  | 'hash'
  | 'regexp';

export interface FluentdParamSpec {
  type: FluentdParamType;
  required?: boolean;
  /** Values for `enum`. */
  values?: readonly string[];
  /** Missing is only a warning (e.g. in_tail `pos_file`). */
  recommended?: string;
  /** Rejected by Fluentd ("obsoleted"); message says what to use. */
  obsolete?: string;
}

export interface FluentdSectionSpec {
  params?: Readonly<Record<string, FluentdParamSpec>>;
  /** Any parameter name is accepted (e.g. record_transformer `<record>`, loki `<label>`). */
  anyParams?: boolean;
  sections?: Readonly<Record<string, FluentdSectionSpec>>;
  multi?: boolean;
  required?: boolean;
  /** The section carries `@type` naming a plugin of this kind (`<parse>`, `<format>`, `<buffer>`). */
  typed?: FluentdPluginKind;
  /** `<pattern>` of multi_format: `format` names a parser whose params apply. */
  formatParser?: boolean;
  /** Default `@type` when omitted (e.g. buffer → memory for most outputs). */
  defaultType?: string;
}

export type FluentdPluginKind = 'input' | 'output' | 'filter' | 'parser' | 'formatter' | 'buffer';

export interface FluentdPluginSpec extends FluentdSectionSpec {
  kind: FluentdPluginKind;
  name: string;
  /** Gem providing it ('fluentd' for core plugins). */
  gem: string;
  /** Reference for the parameter table. */
  doc: string;
  /**
   * Each inner list: at least one parameter or section (`<name>`) must be present.
   * Used where the plugin has a default that is wrong for a sidecar (policy).
   */
  requiredOneOf?: readonly (readonly string[])[];
  requiredNote?: string;
}

const PREFIX: Record<FluentdPluginKind, string> = {
  input: 'in',
  output: 'out',
  filter: 'filter',
  parser: 'parser',
  formatter: 'formatter',
  buffer: 'buf',
};

/** Plugin id as used in `availablePlugins`, e.g. `in_tail`, `out_loki`, `parser_multi_format`. */
export function fluentdPluginId(kind: FluentdPluginKind, name: string): string {
  return `${PREFIX[kind]}_${name}`;
}

const TIME_PARSER: Record<string, FluentdParamSpec> = {
  time_key: { type: 'string' },
  time_type: { type: 'enum', values: ['float', 'unixtime', 'string', 'mixed'] },
  time_format: { type: 'string' },
  time_format_fallbacks: { type: 'array' },
  localtime: { type: 'bool' },
  utc: { type: 'bool' },
  timezone: { type: 'string' },
};

/** lib/fluent/plugin/parser.rb — accepted by every parser. */
const PARSER_COMMON: Record<string, FluentdParamSpec> = {
  ...TIME_PARSER,
  types: { type: 'hash' },
  null_value_pattern: { type: 'regexp' },
  null_empty_string: { type: 'bool' },
  estimate_current_event: { type: 'bool' },
  keep_time_key: { type: 'bool' },
  timeout: { type: 'time' },
};

/** plugin_helper/inject.rb `<inject>`. */
const INJECT_SECTION: FluentdSectionSpec = {
  params: {
    hostname_key: { type: 'string' },
    hostname: { type: 'string' },
    worker_id_key: { type: 'string' },
    tag_key: { type: 'string' },
    time_key: { type: 'string' },
    time_type: { type: 'enum', values: ['float', 'unixtime', 'unixtime_millis', 'unixtime_micros', 'unixtime_nanos', 'string'] },
    time_format: { type: 'string' },
    localtime: { type: 'bool' },
    utc: { type: 'bool' },
    timezone: { type: 'string' },
  },
};

/** lib/fluent/plugin/buffer.rb + output.rb `<buffer>` section — accepted by every buffer. */
const BUFFER_COMMON: Record<string, FluentdParamSpec> = {
  chunk_limit_size: { type: 'size' },
  total_limit_size: { type: 'size' },
  queue_limit_length: { type: 'integer' },
  chunk_limit_records: { type: 'integer' },
  chunk_full_threshold: { type: 'float' },
  queued_chunks_limit_size: { type: 'integer' },
  compress: { type: 'enum', values: ['text', 'gzip', 'zstd'] },
  disable_chunk_backup: { type: 'bool' },
  timekey: { type: 'time' },
  timekey_wait: { type: 'time' },
  timekey_use_utc: { type: 'bool' },
  timekey_zone: { type: 'string' },
  flush_at_shutdown: { type: 'bool' },
  flush_mode: { type: 'enum', values: ['default', 'lazy', 'interval', 'immediate'] },
  flush_interval: { type: 'time' },
  flush_thread_count: { type: 'integer' },
  flush_thread_interval: { type: 'float' },
  flush_thread_burst_interval: { type: 'float' },
  delayed_commit_timeout: { type: 'time' },
  overflow_action: { type: 'enum', values: ['throw_exception', 'block', 'drop_oldest_chunk'] },
  retry_forever: { type: 'bool' },
  retry_timeout: { type: 'time' },
  retry_max_times: { type: 'integer' },
  retry_secondary_threshold: { type: 'float' },
  retry_type: { type: 'enum', values: ['exponential_backoff', 'periodic'] },
  retry_wait: { type: 'time' },
  retry_exponential_backoff_base: { type: 'float' },
  retry_max_interval: { type: 'time' },
  retry_randomize: { type: 'bool' },
};

const BUFFER_SECTION: FluentdSectionSpec = { typed: 'buffer', defaultType: 'memory' };
const FORMAT_SECTION: FluentdSectionSpec = { typed: 'formatter' };
const PARSE_SECTION: FluentdSectionSpec = { typed: 'parser' };

/** Output base (lib/fluent/plugin/output.rb): parameters and sections every output takes. */
const OUTPUT_COMMON: Record<string, FluentdParamSpec> = {
  time_as_integer: { type: 'bool' },
  slow_flush_log_threshold: { type: 'float' },
};
const OUTPUT_SECTIONS: Record<string, FluentdSectionSpec> = {
  buffer: BUFFER_SECTION,
  secondary: { typed: 'output' },
};

export const FLUENTD_PLUGINS: readonly FluentdPluginSpec[] = [
  // ------------------------------------------------------------------ inputs
  {
    // lib/fluent/plugin/in_tail.rb — docs.fluentd.org/input/tail
    kind: 'input',
    name: 'tail',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/input/tail',
    params: {
      path: { type: 'string', required: true },
      path_delimiter: { type: 'string' },
      glob_policy: { type: 'enum', values: ['backward_compatible', 'extended', 'always'] },
      tag: { type: 'string', required: true },
      exclude_path: { type: 'array' },
      rotate_wait: { type: 'time' },
      pos_file: {
        type: 'string',
        recommended: "without 'pos_file' a restart re-reads or skips lines; set it on a volume that survives restarts",
      },
      pos_file_compaction_interval: { type: 'time' },
      read_from_head: { type: 'bool' },
      refresh_interval: { type: 'time' },
      read_lines_limit: { type: 'integer' },
      read_bytes_limit_per_second: { type: 'size' },
      multiline_flush_interval: { type: 'time' },
      emit_unmatched_lines: { type: 'bool' },
      enable_watch_timer: { type: 'bool' },
      enable_stat_watcher: { type: 'bool' },
      encoding: { type: 'string' },
      from_encoding: { type: 'string' },
      path_key: { type: 'string' },
      open_on_every_update: { type: 'bool' },
      limit_recently_modified: { type: 'time' },
      skip_refresh_on_startup: { type: 'bool' },
      ignore_repeated_permission_error: { type: 'bool' },
      path_timezone: { type: 'string' },
      follow_inodes: { type: 'bool' },
      max_line_size: { type: 'size' },
      format: { type: 'string', obsolete: 'use a <parse> section' },
    },
    sections: {
      parse: { ...PARSE_SECTION, required: true, multi: true },
      group: {
        params: { rate_period: { type: 'time' }, pattern: { type: 'regexp' } },
        sections: { rule: { multi: true, params: { match: { type: 'hash' }, limit: { type: 'integer' } } } },
      },
    },
  },
  {
    // lib/fluent/plugin/in_forward.rb — docs.fluentd.org/input/forward
    kind: 'input',
    name: 'forward',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/input/forward',
    params: {
      port: { type: 'integer' },
      bind: { type: 'string' },
      tag: { type: 'string' },
      add_tag_prefix: { type: 'string' },
      linger_timeout: { type: 'integer' },
      resolve_hostname: { type: 'bool' },
      deny_keepalive: { type: 'bool' },
      send_keepalive_packet: { type: 'bool' },
      chunk_size_warn_limit: { type: 'size' },
      chunk_size_limit: { type: 'size' },
      skip_invalid_event: { type: 'bool' },
      source_address_key: { type: 'string' },
      source_hostname_key: { type: 'string' },
    },
    sections: {
      transport: { anyParams: true },
      security: {
        params: {
          self_hostname: { type: 'string', required: true },
          shared_key: { type: 'string', required: true },
          user_auth: { type: 'bool' },
          allow_anonymous_source: { type: 'bool' },
        },
        sections: {
          user: { multi: true, params: { username: { type: 'string', required: true }, password: { type: 'string', required: true } } },
          client: { multi: true, anyParams: true },
        },
      },
    },
  },
  {
    // lib/fluent/plugin/in_sample.rb (registered as 'sample' and 'dummy') — docs.fluentd.org/input/sample
    kind: 'input',
    name: 'sample',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/input/sample',
    params: {
      tag: { type: 'string', required: true },
      size: { type: 'integer' },
      rate: { type: 'integer' },
      auto_increment_key: { type: 'string' },
      suspend: { type: 'bool' },
      sample: { type: 'string' },
      dummy: { type: 'string' },
      reuse_record: { type: 'bool' },
    },
  },
  // ------------------------------------------------------------------ outputs
  {
    // lib/fluent/plugin/out_stdout.rb — docs.fluentd.org/output/stdout (use_logger: v1.19)
    kind: 'output',
    name: 'stdout',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/output/stdout',
    params: {
      ...OUTPUT_COMMON,
      output_type: { type: 'string' },
      use_logger: { type: 'bool' },
    },
    sections: { ...OUTPUT_SECTIONS, format: FORMAT_SECTION, inject: INJECT_SECTION },
  },
  {
    // lib/fluent/plugin/out_forward.rb — docs.fluentd.org/output/forward (zstd compress: v1.19)
    kind: 'output',
    name: 'forward',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/output/forward',
    requiredOneOf: [['<server>', '<service_discovery>']],
    requiredNote: 'forward needs at least one <server> with a host',
    params: {
      ...OUTPUT_COMMON,
      transport: { type: 'enum', values: ['tcp', 'tls'] },
      send_timeout: { type: 'time' },
      connect_timeout: { type: 'time' },
      heartbeat_type: { type: 'enum', values: ['transport', 'tcp', 'udp', 'none'] },
      heartbeat_interval: { type: 'time' },
      recover_wait: { type: 'time' },
      hard_timeout: { type: 'time' },
      phi_threshold: { type: 'integer' },
      phi_failure_detector: { type: 'bool' },
      require_ack_response: { type: 'bool' },
      ack_response_timeout: { type: 'time' },
      read_interval_msec: { type: 'integer' },
      read_length: { type: 'size' },
      expire_dns_cache: { type: 'time' },
      dns_round_robin: { type: 'bool' },
      ignore_network_errors_at_startup: { type: 'bool' },
      verify_connection_at_startup: { type: 'bool' },
      compress: { type: 'enum', values: ['text', 'gzip', 'zstd'] },
      tls_version: { type: 'enum', values: ['TLSv1_1', 'TLSv1_2', 'TLSv1_3'] },
      tls_ciphers: { type: 'string' },
      tls_insecure_mode: { type: 'bool' },
      tls_allow_self_signed_cert: { type: 'bool' },
      tls_verify_hostname: { type: 'bool' },
      tls_ca_cert_path: { type: 'array' },
      tls_cert_path: { type: 'array' },
      tls_client_cert_path: { type: 'string' },
      tls_client_private_key_path: { type: 'string' },
      tls_client_private_key_passphrase: { type: 'string' },
      keepalive: { type: 'bool' },
      keepalive_timeout: { type: 'time' },
      host: { type: 'string', obsolete: 'use a <server> section with host' },
      port: { type: 'integer', obsolete: 'use a <server> section with port' },
    },
    sections: {
      ...OUTPUT_SECTIONS,
      server: {
        multi: true,
        params: {
          host: { type: 'string', required: true },
          name: { type: 'string' },
          port: { type: 'integer' },
          shared_key: { type: 'string' },
          username: { type: 'string' },
          password: { type: 'string' },
          standby: { type: 'bool' },
          weight: { type: 'integer' },
        },
      },
      security: {
        params: { self_hostname: { type: 'string', required: true }, shared_key: { type: 'string', required: true } },
      },
      service_discovery: { multi: true, anyParams: true, sections: { service: { multi: true, anyParams: true } } },
    },
  },
  {
    // lib/fluent/plugin/out_file.rb — docs.fluentd.org/output/file
    kind: 'output',
    name: 'file',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/output/file',
    params: {
      ...OUTPUT_COMMON,
      path: { type: 'string', required: true },
      append: { type: 'bool' },
      add_path_suffix: { type: 'bool' },
      path_suffix: { type: 'string' },
      compress: { type: 'enum', values: ['text', 'gz', 'gzip', 'zstd'] },
      recompress: { type: 'bool' },
      symlink_path: { type: 'string' },
      symlink_path_use_relative: { type: 'bool' },
    },
    sections: { ...OUTPUT_SECTIONS, format: FORMAT_SECTION, inject: INJECT_SECTION },
  },
  {
    // lib/fluent/plugin/out_null.rb — docs.fluentd.org/output/null
    kind: 'output',
    name: 'null',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/output/null',
    params: { ...OUTPUT_COMMON, never_flush: { type: 'bool' } },
    sections: OUTPUT_SECTIONS,
  },
  {
    // lib/fluent/plugin/out_copy.rb — docs.fluentd.org/output/copy
    kind: 'output',
    name: 'copy',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/output/copy',
    params: { copy_mode: { type: 'enum', values: ['no_copy', 'shallow', 'deep', 'marshal'] } },
    sections: { store: { typed: 'output', multi: true, required: true } },
  },
  {
    // uken/fluent-plugin-elasticsearch lib/fluent/plugin/out_elasticsearch.rb (5.4.x, in the
    // fluentd-kubernetes-daemonset *-elasticsearch8 images) — docs.fluentd.org/output/elasticsearch
    kind: 'output',
    name: 'elasticsearch',
    gem: 'fluent-plugin-elasticsearch',
    doc: 'https://github.com/uken/fluent-plugin-elasticsearch#configuration',
    requiredOneOf: [['host', 'hosts', 'cloud_id']],
    requiredNote: "the plugin defaults to localhost:9200, which is never Elasticsearch in a sidecar",
    params: {
      ...OUTPUT_COMMON,
      host: { type: 'string' },
      port: { type: 'integer' },
      user: { type: 'string' },
      password: { type: 'string' },
      cloud_id: { type: 'string' },
      cloud_auth: { type: 'string' },
      path: { type: 'string' },
      scheme: { type: 'enum', values: ['http', 'https'] },
      hosts: { type: 'string' },
      target_index_key: { type: 'string' },
      target_type_key: { type: 'string' },
      time_key_format: { type: 'string' },
      time_precision: { type: 'integer' },
      include_timestamp: { type: 'bool' },
      logstash_format: { type: 'bool' },
      logstash_prefix: { type: 'string' },
      logstash_prefix_separator: { type: 'string' },
      logstash_dateformat: { type: 'string' },
      utc_index: { type: 'bool' },
      type_name: { type: 'string' },
      suppress_type_name: { type: 'bool' },
      index_name: { type: 'string' },
      id_key: { type: 'string' },
      write_operation: { type: 'enum', values: ['index', 'create', 'update', 'upsert'] },
      parent_key: { type: 'string' },
      routing_key: { type: 'string' },
      request_timeout: { type: 'time' },
      reload_connections: { type: 'bool' },
      reload_on_failure: { type: 'bool' },
      retry_tag: { type: 'string' },
      resurrect_after: { type: 'time' },
      time_key: { type: 'string' },
      time_key_exclude_timestamp: { type: 'bool' },
      ssl_verify: { type: 'bool' },
      ssl_version: { type: 'enum', values: ['SSLv23', 'TLSv1', 'TLSv1_1', 'TLSv1_2', 'TLSv1_3'] },
      ssl_min_version: { type: 'enum', values: ['SSLv23', 'TLSv1', 'TLSv1_1', 'TLSv1_2', 'TLSv1_3'] },
      ssl_max_version: { type: 'enum', values: ['SSLv23', 'TLSv1', 'TLSv1_1', 'TLSv1_2', 'TLSv1_3'] },
      client_key: { type: 'string' },
      client_cert: { type: 'string' },
      client_key_pass: { type: 'string' },
      ca_file: { type: 'string' },
      remove_keys: { type: 'string' },
      remove_keys_on_update: { type: 'string' },
      remove_keys_on_update_key: { type: 'string' },
      flatten_hashes: { type: 'bool' },
      flatten_hashes_separator: { type: 'string' },
      template_name: { type: 'string' },
      template_file: { type: 'string' },
      template_overwrite: { type: 'bool' },
      customize_template: { type: 'hash' },
      rollover_index: { type: 'string' },
      index_date_pattern: { type: 'string' },
      index_separator: { type: 'string' },
      deflector_alias: { type: 'string' },
      application_name: { type: 'string' },
      templates: { type: 'hash' },
      max_retry_putting_template: { type: 'integer' },
      fail_on_putting_template_retry_exceed: { type: 'bool' },
      fail_on_detecting_es_version_retry_exceed: { type: 'bool' },
      max_retry_get_es_version: { type: 'integer' },
      include_tag_key: { type: 'bool' },
      tag_key: { type: 'string' },
      time_parse_error_tag: { type: 'string' },
      reconnect_on_error: { type: 'bool' },
      pipeline: { type: 'string' },
      with_transporter_log: { type: 'bool' },
      emit_error_for_missing_id: { type: 'bool' },
      sniffer_class_name: { type: 'string' },
      selector_class_name: { type: 'string' },
      reload_after: { type: 'integer' },
      include_index_in_url: { type: 'bool' },
      http_backend: { type: 'enum', values: ['excon', 'typhoeus'] },
      http_backend_excon_nonblock: { type: 'bool' },
      validate_client_version: { type: 'bool' },
      prefer_oj_serializer: { type: 'bool' },
      unrecoverable_error_types: { type: 'array' },
      verify_es_version_at_startup: { type: 'bool' },
      default_elasticsearch_version: { type: 'integer' },
      log_es_400_reason: { type: 'bool' },
      custom_headers: { type: 'hash' },
      api_key: { type: 'string' },
      suppress_doc_wrap: { type: 'bool' },
      ignore_exceptions: { type: 'array' },
      exception_backup: { type: 'bool' },
      bulk_message_request_threshold: { type: 'size' },
      compression_level: { type: 'enum', values: ['no_compression', 'best_speed', 'best_compression', 'default_compression'] },
      enable_ilm: { type: 'bool' },
      ilm_policy_id: { type: 'string' },
      ilm_policy: { type: 'hash' },
      ilm_policies: { type: 'hash' },
      ilm_policy_overwrite: { type: 'bool' },
      truncate_caches_interval: { type: 'time' },
      use_legacy_template: { type: 'bool' },
      catch_transport_exception_on_retry: { type: 'bool' },
      target_index_affinity: { type: 'bool' },
      index_prefix: { type: 'string', obsolete: "use 'index_name' or 'logstash_prefix'" },
    },
    sections: {
      ...OUTPUT_SECTIONS,
      inject: INJECT_SECTION,
      metadata: { params: { include_chunk_id: { type: 'bool' }, chunk_id_key: { type: 'string' } } },
    },
  },
  {
    // grafana/loki clients/cmd/fluentd/lib/fluent/plugin/out_loki.rb (gem fluent-plugin-grafana-loki,
    // in grafana/fluent-plugin-loki images) — grafana.com/docs/loki/latest/send-data/fluentd
    kind: 'output',
    name: 'loki',
    gem: 'fluent-plugin-grafana-loki',
    doc: 'https://grafana.com/docs/loki/latest/send-data/fluentd/',
    requiredOneOf: [['url']],
    requiredNote: 'the plugin defaults to a Grafana Cloud URL, never the in-cluster Loki',
    params: {
      ...OUTPUT_COMMON,
      url: { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
      bearer_token_file: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      ca_cert: { type: 'string' },
      ciphers: { type: 'string' },
      min_version: { type: 'string' },
      insecure_tls: { type: 'bool' },
      custom_headers: { type: 'hash' },
      compress: { type: 'enum', values: ['gzip'] },
      tenant: { type: 'string' },
      extra_labels: { type: 'hash' },
      line_format: { type: 'enum', values: ['json', 'key_value'] },
      extract_kubernetes_labels: { type: 'bool' },
      remove_keys: { type: 'array' },
      drop_single_key: { type: 'bool' },
      include_thread_label: { type: 'bool' },
    },
    sections: { ...OUTPUT_SECTIONS, label: { anyParams: true } },
  },
  // ------------------------------------------------------------------ filters
  {
    // lib/fluent/plugin/filter_record_transformer.rb — docs.fluentd.org/filter/record_transformer
    kind: 'filter',
    name: 'record_transformer',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/filter/record_transformer',
    params: {
      enable_ruby: { type: 'bool' },
      auto_typecast: { type: 'bool' },
      renew_record: { type: 'bool' },
      renew_time_key: { type: 'string' },
      keep_keys: { type: 'array' },
      remove_keys: { type: 'array' },
    },
    sections: { record: { anyParams: true, multi: true } },
  },
  {
    // lib/fluent/plugin/filter_grep.rb — docs.fluentd.org/filter/grep
    kind: 'filter',
    name: 'grep',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/filter/grep',
    sections: (() => {
      const rule: FluentdSectionSpec = {
        multi: true,
        params: { key: { type: 'string', required: true }, pattern: { type: 'regexp', required: true } },
      };
      const group: FluentdSectionSpec = { multi: true, sections: { regexp: rule, exclude: rule } };
      return { regexp: rule, exclude: rule, and: group, or: group };
    })(),
  },
  {
    // lib/fluent/plugin/filter_parser.rb — docs.fluentd.org/filter/parser
    kind: 'filter',
    name: 'parser',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/filter/parser',
    params: {
      key_name: { type: 'string', required: true },
      reserve_data: { type: 'bool' },
      reserve_time: { type: 'bool' },
      remove_key_name_field: { type: 'bool' },
      replace_invalid_sequence: { type: 'bool' },
      inject_key_prefix: { type: 'string' },
      hash_value_field: { type: 'string' },
      emit_invalid_record_to_error: { type: 'bool' },
    },
    sections: { parse: { ...PARSE_SECTION, required: true } },
  },
  {
    // repeatedly/fluent-plugin-record-modifier (in fluentd-kubernetes-daemonset images)
    kind: 'filter',
    name: 'record_modifier',
    gem: 'fluent-plugin-record-modifier',
    doc: 'https://github.com/repeatedly/fluent-plugin-record-modifier#configuration',
    params: {
      char_encoding: { type: 'string' },
      prepare_value: { type: 'string' },
      remove_keys: { type: 'string' },
      whitelist_keys: { type: 'string' },
    },
    sections: {
      record: { anyParams: true, multi: true },
      replace: { multi: true, params: { key: { type: 'string', required: true }, expression: { type: 'regexp', required: true }, replace: { type: 'string', required: true } } },
    },
  },
  // ------------------------------------------------------------------ parsers (<parse>)
  {
    // lib/fluent/plugin/parser_json.rb — docs.fluentd.org/parser/json
    kind: 'parser',
    name: 'json',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/parser/json',
    params: { ...PARSER_COMMON, json_parser: { type: 'enum', values: ['oj', 'yajl', 'json'] }, stream_buffer_size: { type: 'integer' } },
  },
  {
    // lib/fluent/plugin/parser_none.rb — docs.fluentd.org/parser/none
    kind: 'parser',
    name: 'none',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/parser/none',
    params: { ...PARSER_COMMON, message_key: { type: 'string' } },
  },
  {
    // lib/fluent/plugin/parser_regexp.rb — docs.fluentd.org/parser/regexp
    kind: 'parser',
    name: 'regexp',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/parser/regexp',
    params: {
      ...PARSER_COMMON,
      expression: { type: 'regexp', required: true },
      ignorecase: { type: 'bool' },
      multiline: { type: 'bool' },
    },
  },
  {
    // lib/fluent/plugin/parser_multiline.rb — docs.fluentd.org/parser/multiline
    kind: 'parser',
    name: 'multiline',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/parser/multiline',
    params: {
      ...PARSER_COMMON,
      format_firstline: { type: 'regexp' },
      unmatched_lines: { type: 'bool' },
      ...Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`format${i + 1}`, { type: 'regexp' } as FluentdParamSpec])),
    },
  },
  {
    // repeatedly/fluent-plugin-multi-format-parser (in fluentd-kubernetes-daemonset images)
    kind: 'parser',
    name: 'multi_format',
    gem: 'fluent-plugin-multi-format-parser',
    doc: 'https://github.com/repeatedly/fluent-plugin-multi-format-parser#configuration',
    params: {},
    sections: { pattern: { multi: true, required: true, formatParser: true } },
  },
  // ------------------------------------------------------------------ formatters (<format>)
  {
    kind: 'formatter',
    name: 'json',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/formatter/json',
    params: { json_parser: { type: 'enum', values: ['oj', 'yajl', 'json'] }, add_newline: { type: 'bool' } },
  },
  {
    kind: 'formatter',
    name: 'single_value',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/formatter/single_value',
    params: { message_key: { type: 'string' }, add_newline: { type: 'bool' } },
  },
  {
    kind: 'formatter',
    name: 'ltsv',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/formatter/ltsv',
    params: { delimiter: { type: 'string' }, label_delimiter: { type: 'string' }, replacement: { type: 'string' }, add_newline: { type: 'bool' } },
  },
  {
    kind: 'formatter',
    name: 'hash',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/formatter/hash',
    params: { add_newline: { type: 'bool' } },
  },
  {
    kind: 'formatter',
    name: 'out_file',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/formatter/out_file',
    params: {
      delimiter: { type: 'string' },
      output_tag: { type: 'bool' },
      output_time: { type: 'bool' },
      time_type: { type: 'enum', values: ['float', 'unixtime', 'string'] },
      time_format: { type: 'string' },
      localtime: { type: 'bool' },
      utc: { type: 'bool' },
      timezone: { type: 'string' },
    },
  },
  {
    kind: 'formatter',
    name: 'csv',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/formatter/csv',
    params: { fields: { type: 'array', required: true }, delimiter: { type: 'string' }, force_quotes: { type: 'bool' }, add_newline: { type: 'bool' } },
  },
  // ------------------------------------------------------------------ buffers (<buffer>)
  {
    // lib/fluent/plugin/buf_memory.rb — docs.fluentd.org/buffer/memory
    kind: 'buffer',
    name: 'memory',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/buffer/memory',
    params: { ...BUFFER_COMMON },
  },
  {
    // lib/fluent/plugin/buf_file.rb — docs.fluentd.org/buffer/file
    kind: 'buffer',
    name: 'file',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/buffer/file',
    params: {
      ...BUFFER_COMMON,
      path: { type: 'string' },
      path_suffix: { type: 'string' },
      file_permission: { type: 'string' },
      dir_permission: { type: 'string' },
    },
  },
  {
    // lib/fluent/plugin/buf_file_single.rb — docs.fluentd.org/buffer/file_single
    kind: 'buffer',
    name: 'file_single',
    gem: 'fluentd',
    doc: 'https://docs.fluentd.org/buffer/file_single',
    params: {
      ...BUFFER_COMMON,
      path: { type: 'string' },
      calc_num_records: { type: 'bool' },
      chunk_format: { type: 'enum', values: ['msgpack', 'text', 'auto'] },
      file_permission: { type: 'string' },
      dir_permission: { type: 'string' },
    },
  },
];

/** Core plugins of fluentd 1.19 without a parameter table here (name accepted, params unchecked). */
const CORE_WITHOUT_TABLE: Record<FluentdPluginKind, readonly string[]> = {
  input: ['dummy', 'http', 'tcp', 'udp', 'syslog', 'exec', 'monitor_agent', 'unix', 'object_space', 'gc_stat', 'debug_agent'],
  output: ['http', 'relabel', 'roundrobin', 'exec', 'exec_filter', 'secondary_file', 'buffer'],
  filter: ['stdout'],
  parser: ['csv', 'tsv', 'ltsv', 'apache', 'apache2', 'apache_error', 'nginx', 'syslog', 'msgpack'],
  formatter: ['msgpack', 'stdout', 'tsv'],
  buffer: [],
};

function coreIds(): string[] {
  const ids = FLUENTD_PLUGINS.filter((p) => p.gem === 'fluentd').map((p) => fluentdPluginId(p.kind, p.name));
  for (const [kind, names] of Object.entries(CORE_WITHOUT_TABLE) as [FluentdPluginKind, readonly string[]][]) {
    for (const n of names) ids.push(fluentdPluginId(kind, n));
  }
  return ids;
}

export interface FluentdImage {
  image: string;
  /** Fluentd version inside the image. */
  fluentdVersion: string;
  /** User the image runs as. */
  user: string;
  /** Plugin ids available (see {@link fluentdPluginId}). */
  plugins: readonly string[];
  notes: string;
}

/**
 * Well-known images and the plugins they contain. No single official image ships both
 * Elasticsearch and Loki outputs.
 */
export const FLUENTD_IMAGES = {
  /** Official image (fluent/fluentd-docker-image v1.19/debian): core plugins only. */
  core: {
    image: 'fluent/fluentd:v1.19.3-debian-2.2',
    fluentdVersion: '1.19.3',
    user: 'fluent (non-root, USER fluent); Debian slim with /bin/sh',
    plugins: coreIds(),
    notes: 'forward, stdout, file, http, null, copy outputs; tail, forward, http, sample inputs; json/none/regexp/multiline parsers',
  },
  /** fluent/fluentd-kubernetes-daemonset v1.19 debian-elasticsearch8 (Gemfile in docker-image/v1.19/debian-elasticsearch8). */
  elasticsearch8: {
    image: 'fluent/fluentd-kubernetes-daemonset:v1.19.0-debian-elasticsearch8-1.1',
    fluentdVersion: '1.19.0',
    user: 'root (Dockerfile sets USER root so it can read /var/log on nodes)',
    plugins: [
      ...coreIds(),
      'out_elasticsearch',
      'out_elasticsearch_dynamic',
      'out_elasticsearch_data_stream',
      'parser_multi_format',
      'parser_grok',
      'parser_cri',
      'filter_record_modifier',
      'filter_concat',
      'filter_kubernetes_metadata',
      'filter_dedot',
      'out_rewrite_tag_filter',
      'out_detect_exceptions',
      'in_prometheus',
      'in_systemd',
    ],
    notes: 'no Loki output',
  },
  /** grafana/fluent-plugin-loki: FROM fluent/fluentd:v1.19-debian-1 plus /fluentd/plugins/out_loki.rb (run with -p /fluentd/plugins). */
  loki: {
    image: 'grafana/fluent-plugin-loki:3.7.8',
    fluentdVersion: '1.19',
    user: 'fluent (non-root)',
    plugins: [...coreIds(), 'out_loki'],
    notes: 'no Elasticsearch output and no multi_format parser; out_loki is loaded from /fluentd/plugins',
  },
} as const satisfies Record<string, FluentdImage>;

const SPEC_INDEX = new Map(FLUENTD_PLUGINS.map((p) => [fluentdPluginId(p.kind, p.name), p]));
/** Names registered under a second name (in_sample is also 'dummy'). */
const ALIASES: Record<string, string> = { in_dummy: 'in_sample' };

/** Every plugin id this validator knows exists (with or without a parameter table). */
export function knownFluentdPlugins(): string[] {
  const ids = new Set<string>([...SPEC_INDEX.keys(), ...coreIds()]);
  for (const img of Object.values(FLUENTD_IMAGES)) for (const id of img.plugins) ids.add(id);
  return [...ids].sort();
}

const KNOWN_IDS = new Set(knownFluentdPlugins());

export function getFluentdPlugin(kind: FluentdPluginKind, name: string): FluentdPluginSpec | undefined {
  const id = fluentdPluginId(kind, name);
  return SPEC_INDEX.get(ALIASES[id] ?? id);
}

/** Which gem or image provides a plugin id, for messages. */
function provider(id: string): string {
  const spec = SPEC_INDEX.get(id);
  const images = Object.values(FLUENTD_IMAGES)
    .filter((img) => (img.plugins as readonly string[]).includes(id))
    .map((img) => img.image);
  const gem = spec && spec.gem !== 'fluentd' ? `gem ${spec.gem}` : '';
  return [gem, images.length ? `images: ${images.join(', ')}` : ''].filter(Boolean).join('; ');
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/** lib/fluent/system_config.rb `<system>` parameters (forced_stacktrace_level, config_include_dir: v1.19). */
const SYSTEM_SECTION: FluentdSectionSpec = {
  params: {
    workers: { type: 'integer' },
    restart_worker_interval: { type: 'time' },
    root_dir: { type: 'string' },
    log_level: { type: 'enum', values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] },
    suppress_repeated_stacktrace: { type: 'bool' },
    emit_error_log_interval: { type: 'time' },
    suppress_config_dump: { type: 'bool' },
    log_event_verbose: { type: 'bool' },
    ignore_repeated_log_interval: { type: 'time' },
    ignore_same_log_interval: { type: 'time' },
    without_source: { type: 'bool' },
    with_source_only: { type: 'bool' },
    rpc_endpoint: { type: 'string' },
    enable_get_dump: { type: 'bool' },
    process_name: { type: 'string' },
    enable_msgpack_time_support: { type: 'bool' },
    file_permission: { type: 'string' },
    dir_permission: { type: 'string' },
    strict_config_value: { type: 'bool' },
    disable_shared_socket: { type: 'bool' },
    enable_input_metrics: { type: 'bool' },
    enable_size_metrics: { type: 'bool' },
    enable_jit: { type: 'bool' },
    config_include_dir: { type: 'string' },
  },
  sections: {
    log: {
      params: {
        format: { type: 'enum', values: ['text', 'json'] },
        time_format: { type: 'string' },
        rotate_age: { type: 'string' },
        rotate_size: { type: 'size' },
        forced_stacktrace_level: { type: 'enum', values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'none'] },
      },
    },
    counter_server: { anyParams: true },
    counter_client: { anyParams: true },
    source_only_buffer: { params: { ...BUFFER_COMMON } },
  },
};

const TYPE_RES: Partial<Record<FluentdParamType, RegExp>> = {
  integer: /^-?\d+$/,
  float: /^-?\d+(\.\d+)?$/,
  /** Config::SIZE_TYPE: digits with optional k/m/g/t (an optional trailing b is tolerated). */
  size: /^\d+([kmgt]b?)?$/i,
  /** Config::TIME_TYPE: number with optional s/m/h/d. */
  time: /^\d+(\.\d+)?[smhd]?$/,
};

interface VCtx {
  issues: FluentdIssue[];
  available: Set<string> | null;
}

function report(ctx: VCtx, path: (string | number)[], line: number, message: string, severity: FluentdSeverity = 'error'): void {
  ctx.issues.push({ path, message, line, severity });
}

function checkParamValue(ctx: VCtx, path: (string | number)[], p: FluentdParam, spec: FluentdParamSpec, where: string): void {
  if (spec.obsolete) {
    report(ctx, path, p.line, `'${p.key}' is obsolete in ${where}: ${spec.obsolete}`);
    return;
  }
  // Embedded Ruby (evaluated at load time) and placeholders are only known at run time.
  if (p.quoting === 'double' && p.value.includes('#{')) return;
  const v = p.value.trim();
  switch (spec.type) {
    case 'string':
    case 'regexp':
      return;
    case 'bool':
      if (v === '' || ['true', 'false', 'yes', 'no'].includes(v)) return;
      report(ctx, path, p.line, `'${p.key}' must be true or false in ${where}, got ${JSON.stringify(v)}`);
      return;
    case 'enum':
      if (spec.values?.includes(v)) return;
      report(ctx, path, p.line, `'${p.key}' must be one of ${spec.values?.join(', ')} in ${where}, got ${JSON.stringify(v)}`);
      return;
    case 'array':
    case 'hash':
      if ((spec.type === 'array' ? v.startsWith('[') : v.startsWith('{'))) {
        try {
          JSON.parse(v);
        } catch {
          report(ctx, path, p.line, `'${p.key}' in ${where} is not valid JSON: ${v.replace(/\s+/g, ' ')}`);
        }
      } else if (v === '' && spec.type === 'hash') {
        report(ctx, path, p.line, `'${p.key}' in ${where} needs a value (JSON object or key:value,key:value)`);
      }
      return;
    default: {
      const re = TYPE_RES[spec.type];
      if (re && !re.test(v)) {
        const hint =
          spec.type === 'size'
            ? 'a size such as 8m, 512k or 1g'
            : spec.type === 'time'
              ? 'a duration such as 5s, 1m, 1h or 30'
              : spec.type === 'integer'
                ? 'an integer'
                : 'a number';
        report(ctx, path, p.line, `'${p.key}' must be ${hint} in ${where}, got ${JSON.stringify(v)}`);
      }
    }
  }
}

function sizeBytes(v: string): number | null {
  const m = /^(\d+)([kmgt])?b?$/i.exec(v.trim());
  if (!m) return null;
  const mult = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[(m[2] ?? '').toLowerCase() as 'k'] ?? 1;
  return Number(m[1]) * mult;
}

/**
 * Validates one element against a section spec (parameters, sub-sections, typed plugins).
 * `extraParams` are merged in (plugin common parameters).
 */
function checkElement(
  ctx: VCtx,
  dir: FluentdDirective,
  path: (string | number)[],
  spec: FluentdSectionSpec,
  where: string,
  extraParams: Readonly<Record<string, FluentdParamSpec>> = {},
  allowedMeta: ReadonlySet<string> = new Set(),
): void {
  const params: Record<string, FluentdParamSpec> = { ...extraParams, ...(spec.params ?? {}) };
  const seen = new Map<string, FluentdParam>();
  for (const p of dir.params) {
    const ppath = [...path, p.key];
    if (p.key === '@include') {
      report(ctx, ppath, p.line, '@include is not supported: inline the included configuration');
      continue;
    }
    if (seen.has(p.key)) {
      report(ctx, ppath, p.line, `'${p.key}' is set twice in ${where} (first on line ${seen.get(p.key)!.line})`);
      continue;
    }
    seen.set(p.key, p);
    if (p.key.startsWith('@')) {
      if (!allowedMeta.has(p.key)) report(ctx, ppath, p.line, `'${p.key}' is not allowed in ${where}`);
      continue;
    }
    if (spec.anyParams) continue;
    const ps = params[p.key];
    if (!ps) {
      report(ctx, ppath, p.line, `unknown parameter '${p.key}' in ${where}`);
      continue;
    }
    checkParamValue(ctx, ppath, p, ps, where);
  }
  for (const [key, ps] of Object.entries(params)) {
    if (seen.has(key)) continue;
    if (ps.required) report(ctx, [...path, key], dir.line, `${where} requires '${key}'`);
    else if (ps.recommended) report(ctx, [...path, key], dir.line, `${where}: ${ps.recommended}`, 'warning');
  }

  // Sub-sections.
  const sections = spec.sections ?? {};
  const counts = new Map<string, number>();
  for (const child of dir.children) {
    const idx = counts.get(child.name) ?? 0;
    counts.set(child.name, idx + 1);
    const cpath = [...path, child.name, idx];
    const cspec = sections[child.name];
    if (!cspec) {
      report(ctx, cpath, child.line, `unknown section <${child.name}> in ${where}`);
      continue;
    }
    if (idx === 1 && !cspec.multi) report(ctx, cpath, child.line, `only one <${child.name}> is allowed in ${where}`);
    checkSection(ctx, child, cpath, cspec, where);
  }
  for (const [name, cspec] of Object.entries(sections)) {
    if (cspec.required && !counts.has(name)) report(ctx, [...path, name], dir.line, `${where} requires a <${name}> section`);
  }
}

/** Validates a section (typed plugin section or plain section). */
function checkSection(ctx: VCtx, dir: FluentdDirective, path: (string | number)[], spec: FluentdSectionSpec, parentWhere: string): void {
  const where = `<${dir.name}> of ${parentWhere}`;
  if (spec.typed) {
    const typeParam = dir.params.find((p) => p.key === '@type');
    const name = typeParam?.value ?? spec.defaultType;
    if (!name) {
      report(ctx, [...path, '@type'], dir.line, `${where} needs '@type'`);
      return;
    }
    checkPlugin(ctx, spec.typed, name, dir, path, typeParam, where);
    return;
  }
  if (spec.formatParser) {
    // multi_format <pattern>: `format` names a parser, the rest are that parser's parameters.
    const fmt = dir.params.find((p) => p.key === 'format');
    if (!fmt) {
      report(ctx, [...path, 'format'], dir.line, `${where} requires 'format' (a parser name such as json or none)`);
      return;
    }
    const pseudo: FluentdDirective = { ...dir, params: dir.params.filter((p) => p !== fmt) };
    checkPlugin(ctx, 'parser', fmt.value, pseudo, path, fmt, where, 'format');
    return;
  }
  checkElement(ctx, dir, path, spec, where);
}

const KIND_LABEL: Record<FluentdPluginKind, string> = {
  input: 'input',
  output: 'output',
  filter: 'filter',
  parser: 'parser',
  formatter: 'formatter',
  buffer: 'buffer',
};

function checkPlugin(
  ctx: VCtx,
  kind: FluentdPluginKind,
  name: string,
  dir: FluentdDirective,
  path: (string | number)[],
  typeParam: FluentdParam | undefined,
  where: string,
  typeKey = '@type',
): void {
  const id = fluentdPluginId(kind, name);
  const canonical = ALIASES[id] ?? id;
  const known = SPEC_INDEX.has(canonical) || KNOWN_IDS.has(id);
  const tline = typeParam?.line ?? dir.line;
  const tpath = [...path, typeKey];
  if (ctx.available && !ctx.available.has(id) && !ctx.available.has(canonical)) {
    const prov = known ? provider(canonical) : '';
    report(
      ctx,
      tpath,
      tline,
      known
        ? `${KIND_LABEL[kind]} plugin '${name}' is not in the chosen image${prov ? ` (provided by ${prov})` : ''}`
        : `unknown ${KIND_LABEL[kind]} plugin '${name}' (not in the chosen image)`,
    );
    return;
  }
  if (!known && !ctx.available) {
    report(ctx, tpath, tline, `unknown ${KIND_LABEL[kind]} plugin '${name}'`);
    return;
  }
  const spec = SPEC_INDEX.get(canonical);
  const pwhere = `${where} (@type ${name})`;
  const meta = new Set(['@type', '@id', '@log_level', ...(kind === 'input' ? ['@label'] : [])]);
  if (!spec) {
    // Plugin exists but has no table: check only common meta parameters and nested sections loosely.
    for (const p of dir.params) {
      if (p.key === '@include') report(ctx, [...path, p.key], p.line, '@include is not supported: inline the included configuration');
    }
    return;
  }
  checkElement(ctx, dir, path, spec, pwhere, {}, meta);

  for (const group of spec.requiredOneOf ?? []) {
    const ok = group.some((g) =>
      g.startsWith('<') ? dir.children.some((c) => `<${c.name}>` === g) : dir.params.some((p) => p.key === g),
    );
    if (!ok) {
      const first = group[0]!;
      report(
        ctx,
        [...path, first.replace(/[<>]/g, '')],
        dir.line,
        `${pwhere} requires ${group.map((g) => (g.startsWith('<') ? g : `'${g}'`)).join(' or ')}${spec.requiredNote ? `: ${spec.requiredNote}` : ''}`,
      );
    }
  }

  if (kind === 'buffer') {
    const get = (k: string): FluentdParam | undefined => dir.params.find((p) => p.key === k);
    const chunk = get('chunk_limit_size');
    const total = get('total_limit_size');
    const cb = chunk ? sizeBytes(chunk.value) : null;
    const tb = total ? sizeBytes(total.value) : null;
    if (cb !== null && tb !== null && tb < cb) {
      report(ctx, [...path, 'total_limit_size'], total!.line, `total_limit_size (${total!.value}) is smaller than chunk_limit_size (${chunk!.value}) in ${pwhere}`);
    }
    const chunkKeys = dir.arg.split(',').map((k) => k.trim());
    if (chunkKeys.includes('time') && !get('timekey')) {
      report(ctx, [...path, 'timekey'], dir.line, `${pwhere} has 'time' in its chunk keys but no 'timekey'`);
    }
    if ((name === 'file' || name === 'file_single') && !get('path')) {
      report(ctx, [...path, 'path'], dir.line, `${pwhere} needs 'path' unless <system> root_dir and @id are set`, 'warning');
    }
  }
}

function checkRouting(ctx: VCtx, dir: FluentdDirective, path: (string | number)[], inLabel: boolean): void {
  const where = dir.arg ? `<${dir.name} ${dir.arg}>` : `<${dir.name}>`;
  switch (dir.name) {
    case 'source': {
      if (inLabel) {
        report(ctx, path, dir.line, '<source> is not allowed inside <label>');
        return;
      }
      const t = dir.params.find((p) => p.key === '@type');
      if (!t) report(ctx, [...path, '@type'], dir.line, `${where} needs '@type'`);
      else checkPlugin(ctx, 'input', t.value, dir, path, t, where);
      return;
    }
    case 'match':
    case 'filter': {
      if (dir.name === 'match' && !dir.arg) report(ctx, path, dir.line, '<match> needs a tag pattern, e.g. <match app.**>');
      const t = dir.params.find((p) => p.key === '@type');
      if (!t) report(ctx, [...path, '@type'], dir.line, `${where} needs '@type'`);
      else checkPlugin(ctx, dir.name === 'match' ? 'output' : 'filter', t.value, dir, path, t, where);
      return;
    }
    case 'label': {
      if (inLabel) {
        report(ctx, path, dir.line, '<label> cannot be nested');
        return;
      }
      if (!dir.arg.startsWith('@')) report(ctx, path, dir.line, `<label> needs a name starting with '@', got ${JSON.stringify(dir.arg)}`);
      for (const p of dir.params) report(ctx, [...path, p.key], p.line, `parameter '${p.key}' is not allowed directly in ${where}`);
      walkRouting(ctx, dir.children, path, true);
      return;
    }
    default:
      report(ctx, path, dir.line, `unknown directive <${dir.name}>${inLabel ? ' inside <label>' : ''}`);
  }
}

function walkRouting(ctx: VCtx, dirs: FluentdDirective[], base: (string | number)[], inLabel: boolean): void {
  const counts = new Map<string, number>();
  for (const dir of dirs) {
    const idx = counts.get(dir.name) ?? 0;
    counts.set(dir.name, idx + 1);
    const path = [...base, dir.name, idx];
    if (!inLabel && dir.name === 'system') {
      if (idx > 0) report(ctx, path, dir.line, 'only one <system> is allowed');
      checkElement(ctx, dir, path, SYSTEM_SECTION, '<system>');
      continue;
    }
    if (!inLabel && dir.name === 'worker') {
      if (!/^\d+(-\d+)?$/.test(dir.arg)) report(ctx, path, dir.line, `<worker> needs a worker id or range (e.g. 0 or 0-3), got ${JSON.stringify(dir.arg)}`);
      walkRouting(ctx, dir.children, path, false);
      continue;
    }
    checkRouting(ctx, dir, path, inLabel);
  }
}

/**
 * Validates a Fluentd configuration text for {@link FLUENTD_VERSION}.
 *
 * @param availablePlugins plugin ids the target image ships (e.g. `FLUENTD_IMAGES.loki.plugins`,
 *   ids like `out_loki`, `parser_multi_format`); when omitted every plugin this validator knows is
 *   accepted. A plugin id listed here but unknown to the validator is accepted without parameter
 *   checks.
 * @returns syntax and semantic issues, each with its 1-based line; `severity: 'warning'` marks
 *   recommendations (e.g. a `tail` source without `pos_file`).
 */
export function validateFluentdConfig(text: string, availablePlugins?: readonly string[]): FluentdIssue[] {
  const parsed = parseFluentdConfig(text);
  const ctx: VCtx = { issues: [...parsed.issues], available: availablePlugins ? new Set(availablePlugins) : null };
  for (const p of parsed.topLevelParams) {
    if (p.key === '@include') report(ctx, ['@include'], p.line, '@include is not supported: inline the included configuration');
    else report(ctx, [p.key], p.line, `parameter '${p.key}' outside of any directive`);
  }
  walkRouting(ctx, parsed.directives, [], false);
  if (!parsed.directives.some((d) => d.name === 'source' || d.name === 'worker')) {
    report(ctx, ['source'], 1, 'no <source>: nothing would be collected', 'warning');
  }
  return ctx.issues.sort((a, b) => a.line - b.line);
}

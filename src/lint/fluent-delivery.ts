/**
 * What the real agents do with a config that their own --dry-run accepts, but that loses or
 * mangles logs (found by running Fluent Bit 5.1 and Fluentd 1.19 end to end). Warnings of the
 * fluent-bit-config and fluentd-config rules; sidecarctl's own configs have none.
 */
import type { Path } from './locate.js';
import { parseFluentdConfig, type FluentdDirective } from '../validate/fluentd.js';
import { list, obj, type Json } from './json-shape.js';
/** Fluent Bit property names are case-insensitive. */
const prop = (entry: Json, key: string): unknown => Object.entries(entry).find(([k]) => k.toLowerCase() === key)?.[1];
const off = (v: unknown) => v === false || (typeof v === 'string' && /^(off|false|no)$/i.test(v));

export interface FluentBitFinding {
  path: Path;
  message: string;
}

/** Fluent Bit (YAML format, the parsed document). */
export function fluentBitDeliveryIssues(config: unknown): FluentBitFinding[] {
  const out: FluentBitFinding[] = [];
  const pipeline = obj(obj(config).pipeline);
  list(pipeline.inputs).forEach((raw, i) => {
    const input = obj(raw);
    const path = prop(input, 'path');
    if (String(prop(input, 'name')).toLowerCase() === 'tail' && typeof path === 'string' && path.includes('**')) {
      out.push({ path: ['pipeline', 'inputs', i, 'path'], message: `tail path ${path}: Fluent Bit reads ** as one directory level, not any depth (files above or below it are not tailed); list the depths, e.g. /var/log/app/*.log,/var/log/app/*/*.log` });
    }
  });
  // Outputs buffer on disk only with a storage path and inputs with filesystem storage.
  const onDisk = obj(obj(config).service)['storage.path'] !== undefined && list(pipeline.inputs).some((raw) => String(prop(obj(raw), 'storage.type')).toLowerCase() === 'filesystem');
  list(pipeline.outputs).forEach((raw, i) => {
    const output = obj(raw);
    if (typeof prop(output, 'name') !== 'string') return; // the validator reports it
    const name = String(prop(output, 'name')).toLowerCase();
    if (name === 'forward' && !off(prop(output, 'retain_metadata_in_forward_mode'))) {
      out.push({ path: ['pipeline', 'outputs', i, 'name'], message: 'forward output without retain_metadata_in_forward_mode: false: Fluent Bit 5 sends event metadata a Fluentd receiver rejects ("skip invalid event"), so every record is dropped there' });
    }
    if (name !== 'stdout' && name !== 'null' && onDisk && prop(output, 'storage.total_limit_size') === undefined) {
      out.push({ path: ['pipeline', 'outputs', i, 'name'], message: `${name} output without storage.total_limit_size: while its backend is down, the filesystem buffer grows until the volume is full` });
    }
  });
  return out;
}

export interface FluentdFinding {
  line: number;
  message: string;
}

function param(dir: FluentdDirective, key: string): string | undefined {
  return dir.params.find((p) => p.key === key)?.value;
}

function walk(dirs: FluentdDirective[], visit: (d: FluentdDirective) => void): void {
  for (const d of dirs) {
    visit(d);
    walk(d.children, visit);
  }
}

const MiB = 1024 * 1024;

/** A Fluentd size in bytes, read as Fluentd does: digits and the first unit letter (`2m`, `8MB`, `2MiB`). */
function sizeBytes(v: string | undefined): number | undefined {
  const m = v === undefined ? null : /^(\d+(?:\.\d+)?)\s*([kmgt]?)/i.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1]) * 1024 ** ' kmgt'.indexOf((m[2] || ' ').toLowerCase());
}

/** Fluentd (its config text). */
export function fluentdDeliveryIssues(text: string): FluentdFinding[] {
  const { directives } = parseFluentdConfig(text);
  const out: FluentdFinding[] = [];
  // Fluentd's own events (fluent.info, fluent.warn, ...) are handled by a @FLUENT_LOG label, or by a
  // match before the catch-all with a pattern that takes them (fluent.* or fluent.**, among others).
  const labelled = directives.some((d) => d.name === 'label' && d.arg === '@FLUENT_LOG');
  const patterns = (d: FluentdDirective) => (d.name === 'match' ? d.arg.trim().split(/\s+/) : []);
  const catchAll = directives.findIndex((d) => patterns(d).includes('**'));
  const takenBefore = directives.slice(0, Math.max(catchAll, 0)).some((d) => patterns(d).some((p) => /^fluent\.\*\*?$/.test(p)));
  if (catchAll >= 0 && !labelled && !takenBefore) {
    out.push({ line: directives[catchAll]!.line, message: '<match **> also catches Fluentd\'s own fluent.* events (its whole config dump is shipped, and the top-level catch is deprecated for them): route them to <label @FLUENT_LOG> with a <match fluent.**> first' });
  }
  walk(directives, (d) => {
    if (d.name === 'parse' && param(d, '@type') === 'json') {
      const timeKey = param(d, 'time_key');
      const handled = timeKey === '' || param(d, 'time_format') !== undefined || param(d, 'time_type') !== undefined;
      if (!handled) {
        out.push({ line: d.line, message: `json parse without time_format or time_type: a line's "${timeKey ?? 'time'}" is read as epoch seconds, so an ISO time (2026-...) becomes 1970; set time_type/time_format (e.g. time_type string, time_format %iso8601), or time_key "" to keep it a field` });
      }
    }
    if (d.name === 'buffer' && param(d, 'total_limit_size') === undefined) {
      out.push({ line: d.line, message: '<buffer> without total_limit_size: while the backend is down it grows to the default limit (64 GB for a file buffer), past the volume and memory the pod has' });
    }
    if (d.name === 'match' && param(d, '@type') === 'elasticsearch') {
      const buffer = d.children.find((c) => c.name === 'buffer');
      const chunk = sizeBytes(buffer ? param(buffer, 'chunk_limit_size') : undefined) ?? 8 * MiB;
      if (param(d, 'bulk_message_request_threshold') === undefined && chunk > 4 * MiB) {
        out.push({ line: d.params.find((p) => p.key === '@type')?.line ?? d.line, message: 'elasticsearch output with chunks over 4 MB (the default is 8 MB) and no bulk_message_request_threshold: each bulk body and its records are in memory at once (Fluentd peaked above a 192Mi limit at 10k lines/s); set chunk_limit_size 2m and bulk_message_request_threshold 2m' });
      }
    }
  });
  return out;
}

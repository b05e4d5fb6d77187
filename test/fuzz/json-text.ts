/**
 * The generated streams of workloads.ts written as JSON the ways people and tools write it: indented by
 * two or four spaces or a tab, or all on one line, with some collections inline (`"metadata": {"name":
 * "pricing", "labels": {...}}` inside an indented file), spaced or tight, with or without a final newline.
 * A single object stays a single object; several become a `kind: List`.
 */
import { prng, serviceObject, workloadObject, type StreamModel } from './workloads.js';

interface Layout {
  unit: string;
  /** Collections at this depth and deeper go on one line. */
  inlineFrom: number;
  spaced: boolean;
  /** Some collections (chosen by the seed) go on one line even above inlineFrom. */
  rand: () => number;
}

function write(value: unknown, layout: Layout, depth: number, indent: string): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const entries: [string | undefined, unknown][] = Array.isArray(value) ? value.map((v) => [undefined, v]) : Object.entries(value);
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) return open + close;
  const inline = layout.unit === '' || depth >= layout.inlineFrom || layout.rand() < 0.15;
  const inner = inline ? indent : indent + layout.unit;
  const parts = entries.map(([k, v]) => (k === undefined ? '' : JSON.stringify(k) + (layout.spaced || !inline ? ': ' : ':')) + write(v, layout, depth + 1, inner));
  if (inline) return open + parts.join(layout.spaced ? ', ' : ',') + close;
  return `${open}\n${parts.map((p) => inner + p).join(',\n')}\n${indent}${close}`;
}

export function jsonStreamText(model: StreamModel): string {
  const rand = prng(model.seed ^ 0x5f3759df);
  const objects = model.workloads.flatMap((w) => [serviceObject(w), workloadObject(w)].filter((o) => o !== undefined));
  const root = objects.length === 1 ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects };
  const unit = ['  ', '    ', '\t', ''][Math.floor(rand() * 4)]!;
  const layout: Layout = { unit, inlineFrom: 2 + Math.floor(rand() * 8), spaced: rand() < 0.7, rand };
  return write(root, layout, 0, '') + (rand() < 0.8 ? '\n' : '');
}

/**
 * Carries out EditOps on JSON text by splicing, as yaml-splice.ts does for YAML: every change inserts
 * or removes entries (with their separators) inside the collections they belong to, and bytes outside
 * those spans never move. A hand-formatted file (`"metadata": {"name": "pricing", "labels": {...}}` on one
 * line inside an indented List) keeps its layout, and uninject, removing exactly what inject inserted,
 * gives back the input byte for byte.
 *
 * New entries follow their collection: one per line at the indentation of its entries when it spans
 * lines, inline when it is on one line. A single object that must hold added objects is wrapped into a
 * List by text put around it (and taken away again by uninject), not by re-printing it.
 */
import { isMap, isScalar, isSeq, type Document, type Node, type YAMLMap, type YAMLSeq } from 'yaml';
import type { EditOp, Path } from './edit-ops.js';
import type { FileChanges } from './render.js';
import type { SourceFile } from './source.js';
import { applyTextEdits, type TextEdit } from './yaml-splice.js';

interface JsonStyle {
  /** One level of indentation ('' for a file written on one line). */
  unit: string;
  /** `"a": 1, "b": 2` (true) or `"a":1,"b":2` (false). */
  spaced: boolean;
}

export function detectJsonStyle(src: string): JsonStyle {
  const unit = /\n([ \t]+)["{[\]}]/.exec(src)?.[1] ?? '';
  const head = src.slice(0, 4096);
  return { unit, spaced: /"\s*:\s/.test(head) || !/"\s*:/.test(head) };
}

/** JSON text of a value: across lines from `indent` on (with a unit), else on one line. */
export function renderJson(value: unknown, style: JsonStyle, indent: string, multiline: boolean): string {
  if (multiline && style.unit) return JSON.stringify(value, null, style.unit).replace(/\n/g, '\n' + indent);
  if (!style.spaced) return JSON.stringify(value);
  return compactSpaced(value);
}

function compactSpaced(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(compactSpaced).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${compactSpaced(v)}`).join(', ')}}`;
  }
  return JSON.stringify(value);
}

type Collection = YAMLMap | YAMLSeq;

function start(node: Node): number {
  return node.range![0];
}

function end(node: Node): number {
  return node.range![1];
}

/** The [start, end) of each entry of a collection: a pair from its key to its value's end. */
function spans(collection: Collection): [number, number][] {
  if (isMap(collection)) return collection.items.map((p) => [start(p.key as Node), end((p.value ?? p.key) as Node)]);
  return (collection.items as Node[]).map((n) => [start(n), end(n)]);
}

export class JsonSplicer {
  private readonly removals = new Map<Collection, number[]>();

  constructor(
    private readonly src: string,
    private readonly doc: Document,
    private readonly style: JsonStyle,
  ) {}

  /** Edits for the ops on the object at `base` (one JsonSplicer per file: removals are gathered across ops). */
  edits(base: Path, ops: EditOp[]): TextEdit[] {
    return ops.flatMap((op) => this.edit(base, op));
  }

  /** The removals gathered, each run of neighbouring entries with its separator. */
  flush(): TextEdit[] {
    const out: TextEdit[] = [];
    for (const [collection, indexes] of this.removals) out.push(...this.removeEntries(collection, indexes));
    this.removals.clear();
    return out;
  }

  private node(path: Path): Node | undefined {
    return (this.doc.getIn(path, true) as Node | undefined) ?? undefined;
  }

  private edit(base: Path, op: EditOp): TextEdit[] {
    const path = [...base, ...op.path];
    switch (op.op) {
      case 'insertItems': {
        const seq = this.node(path);
        if (seq === undefined) return [this.createMissing(path, op.values)];
        if (!isSeq(seq)) throw new Error(`internal error: ${op.path.join('.')} is not a list`);
        const index = op.at === 'start' ? 0 : op.at === 'end' ? seq.items.length : op.at;
        return [this.insert(seq, index, op.values.map((v) => [undefined, v]))];
      }
      case 'setPairs': {
        const map = this.node(path);
        if (map === undefined) return [this.createMissing(path, Object.fromEntries(op.pairs))];
        if (!isMap(map)) throw new Error(`internal error: ${op.path.join('.')} is not a map`);
        const edits: TextEdit[] = [];
        const added: [string, unknown][] = [];
        for (const [key, value] of op.pairs) {
          const existing = map.get(key, true) as Node | undefined;
          if (existing === undefined) added.push([key, value]);
          else edits.push({ start: start(existing), end: end(existing), text: renderJson(value, this.style, '', false) });
        }
        if (added.length > 0) edits.push(this.insert(map, map.items.length, added));
        return edits;
      }
      case 'removeItems': {
        const seq = this.node(path);
        if (isSeq(seq)) this.remove(seq, op.indexes);
        return [];
      }
      case 'removeKeys': {
        const map = this.node(path);
        if (!isMap(map)) return [];
        const indexes = op.keys.flatMap((key) => {
          const i = map.items.findIndex((p) => isScalar(p.key) && p.key.value === key);
          return i === -1 ? [] : [i];
        });
        this.remove(map, indexes);
        return [];
      }
      case 'setScalar': {
        const scalar = this.node(path);
        if (!isScalar(scalar)) throw new Error(`internal error: no scalar at ${op.path.join('.')}`);
        return [{ start: start(scalar), end: end(scalar), text: op.source ?? renderJson(op.value, this.style, '', false) }];
      }
    }
  }

  private remove(collection: Collection, indexes: number[]): void {
    this.removals.set(collection, [...(this.removals.get(collection) ?? []), ...indexes]);
  }

  /** A missing collection becomes a new key of the nearest map that exists. */
  private createMissing(path: Path, value: unknown): TextEdit {
    let existing = path.length - 1;
    while (existing > 0 && this.node(path.slice(0, existing)) === undefined) existing--;
    let nested: unknown = value;
    for (let i = path.length - 1; i > existing; i--) nested = { [String(path[i])]: nested };
    const parent = this.node(path.slice(0, existing));
    if (!isMap(parent)) throw new Error(`internal error: ${path.slice(0, existing).join('.')} is not a map`);
    return this.insert(parent, parent.items.length, [[String(path[existing]), nested]]);
  }

  /** Whitespace that starts the line holding `offset`. */
  private indentAt(offset: number): string {
    const lineStart = this.src.lastIndexOf('\n', offset - 1) + 1;
    return /^[ \t]*/.exec(this.src.slice(lineStart, offset))![0];
  }

  /** How a collection's entries are laid out: one per line (at `indent`), or inline. */
  private layout(collection: Collection): { multiline: boolean; indent: string } {
    const open = start(collection);
    const first = spans(collection)[0];
    if (first) {
      const multiline = this.src.slice(open + 1, first[0]).includes('\n');
      return { multiline, indent: multiline ? this.indentAt(first[0]) : '' };
    }
    // An empty collection spans lines when it opens a line of its own (`"volumes": []` in an indented file).
    const own = this.indentAt(open);
    const lineStart = this.src.lastIndexOf('\n', open - 1) + 1;
    const alone = lineStart > 0 && /^[ \t]*("(?:[^"\\]|\\.)*"[ \t]*:[ \t]*)?$/.test(this.src.slice(lineStart, open));
    return { multiline: this.style.unit !== '' && alone, indent: own + this.style.unit };
  }

  /** Insert entries ([key, value] for a map, [undefined, value] for a list) before entry `index`. */
  private insert(collection: Collection, index: number, entries: [string | undefined, unknown][]): TextEdit {
    const { multiline, indent } = this.layout(collection);
    const rendered = entries.map(([key, value]) => {
      const body = renderJson(value, this.style, indent, multiline);
      return key === undefined ? body : `${JSON.stringify(key)}:${this.style.spaced || multiline ? ' ' : ''}${body}`;
    });
    const separator = multiline ? `,\n${indent}` : this.style.spaced ? ', ' : ',';
    const all = spans(collection);
    if (all.length === 0) {
      const open = start(collection) + 1;
      const text = multiline ? `\n${indent}${rendered.join(separator)}\n${this.indentAt(start(collection))}` : rendered.join(separator);
      return { start: open, end: open, text };
    }
    if (index < all.length) {
      const at = all[index]![0];
      return { start: at, end: at, text: rendered.map((r) => r + separator).join('') };
    }
    const at = all[all.length - 1]![1];
    return { start: at, end: at, text: rendered.map((r) => separator + r).join('') };
  }

  /**
   * Mirror of insert: a run of neighbouring entries goes with the separator after it (or, at the end, the
   * one before it); all of them go with everything between the brackets.
   */
  private removeEntries(collection: Collection, indexes: number[]): TextEdit[] {
    const all = spans(collection);
    const sorted = [...new Set(indexes)].sort((a, b) => a - b);
    if (sorted.length === all.length && all.length > 0) return [{ start: start(collection) + 1, end: end(collection) - 1, text: '' }];
    const edits: TextEdit[] = [];
    for (let i = 0; i < sorted.length; ) {
      let last = i;
      while (last + 1 < sorted.length && sorted[last + 1] === sorted[last]! + 1) last++;
      const [first, final] = [sorted[i]!, sorted[last]!];
      i = last + 1;
      if (final === all.length - 1) edits.push({ start: all[first - 1]![1], end: all[final]![1], text: '' });
      else edits.push({ start: all[first]![0], end: all[final + 1]![0], text: '' });
    }
    return edits;
  }
}

/**
 * Splice a file's changes into its JSON text. Objects added before a List item are new items; before a
 * single object, they make the file a List around it (and uninject's `unwrap` takes that text away).
 */
export function spliceJson(source: SourceFile, changes: FileChanges): string {
  const { text } = source;
  const doc = source.docs[0]!;
  const style = detectJsonStyle(text);
  const splicer = new JsonSplicer(text, doc, style);
  const edits: TextEdit[] = [];
  for (const { ref, ops } of changes.ops) edits.push(...splicer.edits(ref.base, ops));
  const root = doc.contents as Node;
  const removed = new Set(changes.remove.filter((r) => r.base.length > 0).map((r) => r.base[1] as number));
  const items = isMap(root) ? root.get('items', true) : undefined;
  const unwrapped = changes.unwrap && isSeq(items) && items.items.length - removed.size === 1 ? unwrap(root, items, removed) : undefined;
  if (unwrapped) edits.push(...unwrapped);
  else if (removed.size > 0) edits.push(...splicer.edits([], [{ op: 'removeItems', path: ['items'], indexes: [...removed] }]));
  for (const { ref, objects } of changes.addBefore) {
    if (ref.base.length > 0) edits.push(...splicer.edits([], [{ op: 'insertItems', path: ['items'], at: ref.base[1] as number, values: objects }]));
    else edits.push(...wrap(root, objects, style));
  }
  edits.push(...splicer.flush());
  return applyTextEdits(text, edits);
}

/** The text around a single object that makes it the last item of a List after `objects`. */
function wrap(root: Node, objects: unknown[], style: JsonStyle): TextEdit[] {
  const [from, to] = [start(root), end(root)];
  const multiline = style.unit !== '';
  const item = multiline ? style.unit + style.unit : '';
  const nl = multiline ? '\n' : '';
  const colon = style.spaced || multiline ? ': ' : ':';
  const comma = multiline ? ',\n' : style.spaced ? ', ' : ',';
  const rendered = objects.map((o) => item + renderJson(o, style, item, multiline));
  const head = `{${nl}${style.unit}"apiVersion"${colon}"v1"${comma}${style.unit}"kind"${colon}"List"${comma}${style.unit}"items"${colon}[${nl}`;
  const before = head + rendered.map((r) => r + comma).join('') + item;
  const after = `${nl}${style.unit}]${nl}}`;
  return [
    { start: from, end: from, text: before },
    { start: to, end: to, text: after },
  ];
}

/** Mirror of wrap: the List's text before and after its one remaining item goes. */
function unwrap(root: Node, items: YAMLSeq, removed: Set<number>): TextEdit[] | undefined {
  const keep = items.items.findIndex((_, i) => !removed.has(i));
  const item = items.items[keep] as Node | undefined;
  if (!item?.range) return undefined;
  return [
    { start: start(root), end: start(item), text: '' },
    { start: end(item), end: end(root), text: '' },
  ];
}

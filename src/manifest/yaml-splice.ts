/**
 * Carries out EditOps on YAML source text by splicing: every change inserts or removes whole,
 * self-contained line spans (or flow-collection entries) located through the yaml AST's source ranges.
 * Bytes outside those spans never move, which is how comments, quoting, key order, anchors, trailing
 * spaces and odd indentation survive, and why `uninject` can give back the input byte for byte:
 * removing what inject inserted restores the exact original text.
 */
import { isMap, isScalar, isSeq, stringify, type Document, type Node, type YAMLMap, type YAMLSeq } from 'yaml';
import type { EditOp, Path } from './edit-ops.js';
import { nodeAt, reach } from './anchors.js';

export interface TextEdit {
  start: number;
  end: number;
  text: string;
  /** Indentation of inserted block text: at one offset, deeper inserts must come first. */
  column?: number;
}

/** How the file lays out block collections, so inserted text looks like its neighbours. */
export interface BlockStyle {
  indent: number;
  /** `key:\n  - item` (true) or `key:\n- item` (false). */
  indentSeq: boolean;
}

/**
 * Apply non-overlapping edits. Inserts at the same offset: the more deeply indented one first (an item
 * closing an inner list must precede a new key of the outer map), else in their given order.
 */
export function applyTextEdits(src: string, edits: TextEdit[]): string {
  // One pass from the start, joining pieces: splicing the whole string once per edit was quadratic,
  // and a file of a thousand workloads gets tens of thousands of edits.
  const ordered = edits
    .map((edit, order) => ({ edit, order }))
    .sort((a, b) => a.edit.start - b.edit.start || (b.edit.column ?? 0) - (a.edit.column ?? 0) || a.order - b.order);
  const pieces: string[] = [];
  let done = 0;
  for (const { edit } of ordered) {
    if (edit.start < done) throw new Error('internal error: overlapping edits');
    pieces.push(src.slice(done, edit.start), edit.text);
    done = edit.end;
  }
  pieces.push(src.slice(done));
  return pieces.join('');
}

/**
 * Splice a text that lacks a final newline as if it had one, then take it off again: this keeps the
 * line logic free of end-of-file cases, and inject/uninject symmetric there too.
 */
export function withFinalNewline(text: string, splice: (src: string) => string): string {
  if (text.endsWith('\n') || text === '') return splice(text);
  const out = splice(text + '\n');
  return out.endsWith('\n') ? out.slice(0, -1) : out;
}

export function lineStartOf(src: string, offset: number): number {
  return src.lastIndexOf('\n', offset - 1) + 1;
}

export function columnOf(src: string, offset: number): number {
  return offset - lineStartOf(src, offset);
}

/** The offset just past the line holding `offset - 1`: where a node ending at `offset` stops owning text. */
function endOfLineAfter(src: string, offset: number): number {
  if (offset > 0 && src[offset - 1] === '\n') return offset;
  const newline = src.indexOf('\n', offset);
  return newline === -1 ? src.length : newline + 1;
}

/** Detect the file's block style from the first block sequence under a map key, and the map indent. */
export function detectStyle(src: string): BlockStyle {
  let indent = 2;
  const nested = /^( *)[A-Za-z_"'][^\n:]*:[ \t]*\n( +)[A-Za-z_"'-]/m.exec(src);
  if (nested && nested[2]!.length > nested[1]!.length) indent = Math.min(8, nested[2]!.length - nested[1]!.length);
  const seq = /^( *)[^\s#-][^\n]*:[ \t]*\n( *)- /m.exec(src);
  const indentSeq = seq ? seq[2]!.length > seq[1]!.length : true;
  return { indent, indentSeq };
}

/** Render a value as block YAML (no trailing newline), every line prefixed by `column` spaces. */
function renderBlockAt(value: unknown, column: number, style: BlockStyle): string {
  const text = stringify(value, { indent: style.indent, indentSeq: style.indentSeq, lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false }).replace(/\n$/, '');
  const pad = ' '.repeat(column);
  return text
    .split('\n')
    .map((line) => (line === '' ? line : pad + line))
    .join('\n');
}

function renderFlow(value: unknown): string {
  return JSON.stringify(value);
}

/** Offset of the `-` indicator that introduces a block sequence item starting at `itemStart`. */
function dashBefore(src: string, itemStart: number): number {
  let i = itemStart - 1;
  while (i >= 0 && src[i] !== '-') i--;
  return i;
}

function nodeStart(node: Node): number {
  return node.range![0];
}

function nodeValueEnd(node: Node): number {
  return node.range![1];
}

/**
 * Turns EditOps on one object into text edits against the document's source. The source must end with
 * a newline (see withFinalNewline), so that every line, the last one too, can be inserted or removed whole. `base` is the path
 * of the object inside the document (['items', 3] for an item of a List, [] otherwise).
 */
export class YamlSplicer {
  constructor(
    private readonly src: string,
    private readonly doc: Document,
    private readonly base: Path,
    private readonly style: BlockStyle,
  ) {}

  /** Flow entries to remove, per collection: they are removed together (see removeFlowEntries). */
  private readonly flowRemovals = new Map<Node, { spans: [number, number][]; indexes: number[] }>();

  edits(ops: EditOp[]): TextEdit[] {
    this.flowRemovals.clear();
    const edits = ops.flatMap((op) => this.edit(op));
    for (const { spans, indexes } of this.flowRemovals.values()) edits.push(...removeFlowEntries(spans, indexes));
    return edits;
  }

  private node(path: Path): Node | undefined {
    // Aliases and merge keys resolved, as the API server reads the object (callers have checked with
    // sharedEdit that what is edited belongs to this object alone).
    return nodeAt(this.doc, [...this.base, ...path]);
  }

  private edit(op: EditOp): TextEdit[] {
    switch (op.op) {
      case 'insertItems':
        return [this.insertItems(op.path, op.at, op.values)];
      case 'setPairs':
        return this.setPairs(op.path, op.pairs);
      case 'removeItems': {
        const seq = this.node(op.path);
        if (!isSeq(seq)) return [];
        return op.indexes.flatMap((index) => this.removeItem(seq, index));
      }
      case 'removeKeys': {
        const map = this.node(op.path);
        if (!isMap(map)) return [];
        return op.keys.flatMap((key) => this.removeKey(map, key));
      }
      case 'setScalar': {
        // `targetPort: *p` is replaced as the alias it is: its anchor, and whatever else reads it, stay.
        const full = [...this.base, ...op.path];
        const steps = reach(this.doc, this.doc.contents, full);
        const target = steps.length === full.length + 1 ? steps[steps.length - 1]! : undefined;
        const scalar = target?.alias ?? target?.node;
        if (!isScalar(target?.node) || !scalar) throw new Error(`internal error: no scalar at ${op.path.join('.')}`);
        return [this.replaceScalar(scalar, op.source ?? renderFlow(op.value))];
      }
    }
  }

  /** Create a missing collection by adding `key: value` to the nearest existing ancestor map. */
  private createMissing(path: Path, value: unknown): TextEdit {
    let existing = path.length - 1;
    while (existing > 0 && this.node(path.slice(0, existing)) === undefined) existing--;
    let nested: unknown = value;
    for (let i = path.length - 1; i > existing; i--) nested = { [String(path[i])]: nested };
    const parent = this.node(path.slice(0, existing));
    if (!isMap(parent)) throw new Error(`internal error: ${path.slice(0, existing).join('.')} is not a map`);
    return this.appendPairs(parent, [[String(path[existing]), nested]]);
  }

  private insertItems(path: Path, at: 'start' | 'end' | number, values: unknown[]): TextEdit {
    const seq = this.node(path);
    if (seq === undefined || (isScalar(seq) && seq.value === null)) {
      if (isScalar(seq)) throw new Error(`${path.join('.')} is null; remove it or make it a list`);
      return this.createMissing(path, values);
    }
    if (!isSeq(seq)) throw new Error(`internal error: ${path.join('.')} is not a sequence`);
    const index = at === 'start' ? 0 : at === 'end' ? seq.items.length : at;
    return seq.flow || seq.items.length === 0 ? this.insertFlowItems(seq, index, values) : this.insertBlockItems(seq, index, values);
  }

  private insertBlockItems(seq: YAMLSeq, index: number, values: unknown[]): TextEdit {
    const first = seq.items[0] as Node;
    const dash = dashBefore(this.src, nodeStart(first));
    const dashColumn = columnOf(this.src, dash);
    const sameLine = lineStartOf(this.src, nodeStart(first)) === lineStartOf(this.src, dash);
    const contentColumn = sameLine ? columnOf(this.src, nodeStart(first)) : dashColumn + this.style.indent;
    const gap = ' '.repeat(contentColumn - dashColumn - 1);
    const text = values
      .map((value) => {
        const body = renderBlockAt(value, contentColumn, this.style);
        return ' '.repeat(dashColumn) + '-' + gap + body.slice(contentColumn) + '\n';
      })
      .join('');
    if (index < seq.items.length) {
      const at = lineStartOf(this.src, dashBefore(this.src, nodeStart(seq.items[index] as Node)));
      return { start: at, end: at, text };
    }
    // A `- item` is inside its parent key even when the dash stands in the key's column (`key:\n- item`).
    return { ...this.insertAfter(nodeValueEnd(seq.items.at(-1) as Node), text), column: dashColumn + 0.5 };
  }

  /** Insert whole lines after the line where a node ends. */
  private insertAfter(nodeEnd: number, text: string): TextEdit {
    const at = endOfLineAfter(this.src, nodeEnd);
    return { start: at, end: at, text };
  }

  private insertFlowItems(seq: YAMLSeq, index: number, values: unknown[]): TextEdit {
    const rendered = values.map(renderFlow);
    if (seq.items.length === 0) {
      const open = this.src.indexOf('[', nodeStart(seq));
      return { start: open + 1, end: open + 1, text: rendered.join(', ') };
    }
    if (index < seq.items.length) {
      const at = nodeStart(seq.items[index] as Node);
      return { start: at, end: at, text: rendered.map((r) => r + ', ').join('') };
    }
    const at = nodeValueEnd(seq.items.at(-1) as Node);
    return { start: at, end: at, text: rendered.map((r) => ', ' + r).join('') };
  }

  private setPairs(path: Path, pairs: [string, unknown][]): TextEdit[] {
    const map = this.node(path);
    if (map === undefined) return [this.createMissing(path, Object.fromEntries(pairs))];
    if (!isMap(map)) throw new Error(`${path.join('.')} is not a map`);
    const edits: TextEdit[] = [];
    const added: [string, unknown][] = [];
    for (const [key, value] of pairs) {
      const existing = map.get(key, true) as Node | undefined;
      if (existing === undefined) added.push([key, value]);
      else if (isScalar(existing)) edits.push(this.replaceScalar(existing, renderScalar(value)));
      else throw new Error(`internal error: ${[...path, key].join('.')} is not a scalar`);
    }
    if (added.length > 0) edits.push(this.appendPairs(map, added));
    return edits;
  }

  private appendPairs(map: YAMLMap, pairs: [string, unknown][]): TextEdit {
    if (map.flow || map.items.length === 0) {
      const entries = pairs.map(([k, v]) => `${JSON.stringify(k)}: ${renderFlow(v)}`);
      if (map.items.length === 0) {
        const open = this.src.indexOf('{', nodeStart(map));
        return { start: open + 1, end: open + 1, text: entries.join(', ') };
      }
      const last = map.items.at(-1)!;
      const at = nodeValueEnd((last.value ?? last.key) as Node);
      return { start: at, end: at, text: entries.map((e) => ', ' + e).join('') };
    }
    const firstKey = map.items[0]!.key as Node;
    const column = columnOf(this.src, nodeStart(firstKey));
    const text = renderBlockAt(Object.fromEntries(pairs), column, this.style) + '\n';
    const last = map.items.at(-1)!;
    return { ...this.insertAfter(nodeValueEnd((last.value ?? last.key) as Node), text), column };
  }

  /**
   * Replace a scalar's text. A block scalar's range takes in its final line break: the replacement
   * keeps a line break there (else the next line would join this one), and a block scalar's source
   * put back (uninject) takes the line break that follows the scalar it replaces.
   */
  private replaceScalar(node: Node, text: string): TextEdit {
    const start = nodeStart(node);
    const end = nodeValueEnd(node);
    const ownsLineBreak = this.src[end - 1] === '\n';
    if (ownsLineBreak && !text.endsWith('\n')) return { start, end, text: text + '\n' };
    if (!ownsLineBreak && text.endsWith('\n') && this.src[end] === '\n') return { start, end: end + 1, text };
    return { start, end, text };
  }

  private flowRemoval(collection: Node, spans: [number, number][], index: number): TextEdit[] {
    const pending = this.flowRemovals.get(collection) ?? { spans, indexes: [] };
    pending.indexes.push(index);
    this.flowRemovals.set(collection, pending);
    return [];
  }

  private removeItem(seq: YAMLSeq, index: number): TextEdit[] {
    const item = seq.items[index] as Node;
    if (seq.flow) return this.flowRemoval(seq, (seq.items as Node[]).map((n) => [nodeStart(n), nodeValueEnd(n)]), index);
    const start = lineStartOf(this.src, dashBefore(this.src, nodeStart(item)));
    return [this.removeLines(start, nodeValueEnd(item))];
  }

  private removeKey(map: YAMLMap, key: string): TextEdit[] {
    const index = map.items.findIndex((pair) => isScalar(pair.key) && pair.key.value === key);
    if (index === -1) return [];
    const pair = map.items[index]!;
    const keyNode = pair.key as Node;
    const end = nodeValueEnd((pair.value ?? pair.key) as Node);
    if (map.flow) return this.flowRemoval(map, map.items.map((p) => [nodeStart(p.key as Node), nodeValueEnd((p.value ?? p.key) as Node)]), index);
    return [this.removeLines(lineStartOf(this.src, nodeStart(keyNode)), end)];
  }

  /** Remove whole lines from `start` through the line where a node ends (mirror of insertAfter). */
  private removeLines(start: number, nodeEnd: number): TextEdit {
    return { start, end: endOfLineAfter(this.src, nodeEnd), text: '' };
  }

}

/**
 * Remove flow entries with the separators that inject added with them (mirror of the flow inserts):
 * each run of neighbouring entries goes as one, from its first entry to the next entry's start, or,
 * for a run at the end, from the end of the entry before it. (Removed one by one, two neighbours at
 * the end would each claim the separator between them.)
 */
function removeFlowEntries(spans: [number, number][], indexes: number[]): TextEdit[] {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const edits: TextEdit[] = [];
  for (let i = 0; i < sorted.length; ) {
    let last = i;
    while (last + 1 < sorted.length && sorted[last + 1] === sorted[last]! + 1) last++;
    const [first, final] = [sorted[i]!, sorted[last]!];
    i = last + 1;
    const end = spans[final]![1];
    if (first === 0 && final === spans.length - 1) edits.push({ start: spans[0]![0], end, text: '' });
    else if (final === spans.length - 1) edits.push({ start: spans[first - 1]![1], end, text: '' });
    else edits.push({ start: spans[first]![0], end: spans[final + 1]![0], text: '' });
  }
  return edits;
}

function renderScalar(value: unknown): string {
  return stringify(value, { lineWidth: 0 }).replace(/\n$/, '');
}

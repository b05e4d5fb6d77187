/**
 * Writing changes back into a file's text by splicing: YAML (yaml-splice.ts) and JSON (json-splice.ts), so
 * that everything outside the edits stays as the user wrote it.
 */
import { stringify, type Document } from 'yaml';
import type { EditOp } from './edit-ops.js';
import { spliceJson } from './json-splice.js';
import type { SourceFile } from './source.js';
import { applyTextEdits, detectStyle, lineStartOf, withFinalNewline, YamlSplicer, type BlockStyle, type TextEdit } from './yaml-splice.js';
import type { ObjectRef } from './workloads.js';

export interface FileChanges {
  ops: { ref: ObjectRef; ops: EditOp[] }[];
  /** Objects to add just before an object (so `kubectl apply` creates them first). */
  addBefore: { ref: ObjectRef; objects: unknown[] }[];
  /** Generated objects to take out. */
  remove: ObjectRef[];
  /** JSON only: replace a List root by its single remaining item (undoing a wrap). */
  unwrap?: boolean;
}

export function noChanges(): FileChanges {
  return { ops: [], addBefore: [], remove: [] };
}

export function hasChanges(c: FileChanges): boolean {
  return c.ops.some((o) => o.ops.length > 0) || c.addBefore.length > 0 || c.remove.length > 0;
}

export function renderChanges(source: SourceFile, changes: FileChanges): string {
  if (!hasChanges(changes)) return source.text;
  return source.format === 'json' ? renderJsonFile(source, changes) : renderYaml(source, changes);
}

/** JSON by the same kind of splice as YAML (json-splice.ts); a text without a final newline stays without one. */
function renderJsonFile(source: SourceFile, changes: FileChanges): string {
  return spliceJson(source, changes);
}

function renderYaml(source: SourceFile, changes: FileChanges): string {
  return withFinalNewline(source.text, (text) => spliceYaml({ ...source, text }, changes));
}

function spliceYaml(source: SourceFile, changes: FileChanges): string {
  const { text, docs } = source;
  const style = detectStyle(text);
  const edits: TextEdit[] = [];
  const splicer = (docIndex: number, base: ObjectRef['base']) => new YamlSplicer(text, docs[docIndex] as Document, base, style);
  for (const { ref, ops } of changes.ops) edits.push(...splicer(ref.docIndex, ref.base).edits(ops));
  for (const { ref, objects } of changes.addBefore) {
    if (ref.base.length > 0) {
      edits.push(...splicer(ref.docIndex, []).edits([{ op: 'insertItems', path: ['items'], at: ref.base[1] as number, values: objects }]));
    } else {
      edits.push(insertDocumentsBefore(source, ref.docIndex, objects, style));
    }
  }
  const listRemovals = new Map<number, number[]>();
  for (const ref of changes.remove) {
    if (ref.base.length > 0) listRemovals.set(ref.docIndex, [...(listRemovals.get(ref.docIndex) ?? []), ref.base[1] as number]);
  }
  for (const [docIndex, indexes] of listRemovals) edits.push(...splicer(docIndex, []).edits([{ op: 'removeItems', path: ['items'], indexes }]));
  edits.push(...removeDocuments(source, changes.remove.filter((r) => r.base.length === 0).map((r) => r.docIndex)));
  return applyTextEdits(text, edits);
}

function renderDocument(value: unknown, style: BlockStyle): string {
  return stringify(value, { indent: style.indent, indentSeq: style.indentSeq, lineWidth: 0, aliasDuplicateObjects: false });
}

/**
 * New documents go right before the workload's document: at its `---` when it has one (so comments
 * above the marker stay where they are), else at the very start of the file, followed by a marker.
 */
function insertDocumentsBefore(source: SourceFile, docIndex: number, objects: unknown[], style: BlockStyle): TextEdit {
  const doc = source.docs[docIndex]!;
  const rendered = objects.map((o) => renderDocument(o, style));
  if (hasMarker(doc)) {
    const at = doc.range[0];
    return { start: at, end: at, text: rendered.map((r) => '---\n' + r).join('') };
  }
  const at = docIndex === 0 ? 0 : doc.range[0];
  return { start: at, end: at, text: rendered.map((r) => r + '---\n').join('') };
}

function hasMarker(doc: Document): boolean {
  return doc.directives?.docStart === true;
}

/**
 * Mirror of insertDocumentsBefore: each run of consecutive generated documents is removed up to the
 * next document, and when the run began without a marker, the marker inject put on that next document
 * goes too.
 */
function removeDocuments(source: SourceFile, docIndexes: number[]): TextEdit[] {
  const { docs, text } = source;
  const sorted = [...new Set(docIndexes)].sort((a, b) => a - b);
  const edits: TextEdit[] = [];
  for (let i = 0; i < sorted.length; ) {
    let last = i;
    while (last + 1 < sorted.length && sorted[last + 1] === sorted[last]! + 1) last++;
    const first = sorted[i]!;
    const next = docs[sorted[last]! + 1];
    i = last + 1;
    if (!next) continue; // generated objects with nothing after them are not ours to place; leave them
    const firstDoc = docs[first]!;
    const start = first === 0 && !hasMarker(firstDoc) ? 0 : hasMarker(firstDoc) ? firstDoc.range[0] : lineStartOf(text, firstDoc.range[0]);
    let end = next.range[0];
    if (!hasMarker(firstDoc)) {
      const newline = text.indexOf('\n', end);
      end = newline === -1 ? text.length : newline + 1;
    }
    edits.push({ start, end, text: '' });
  }
  return edits;
}

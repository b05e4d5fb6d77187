/**
 * From a path inside a parsed value (object keys, list indexes) to a line and column in its text,
 * and from a line of a config embedded in a ConfigMap value to the line of the file around it.
 */
import { isAlias, isMap, isScalar, isSeq, Scalar, type Document, type LineCounter, type Node, type Pair, type YAMLMap } from 'yaml';
import { isMergeKey } from '../manifest/anchors.js';

export type Path = readonly (string | number)[];

/** 1-based line and column. */
export interface LineCol {
  line: number;
  col: number;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/**
 * The node to point at for `path`: the key of a map entry (`image: latest` is found by its key, and
 * `resources:` is a better place to say "resources lack limits" than the first line of its
 * contents), or a list item itself. A path that leaves the document (a missing field) stops at the
 * deepest part that exists.
 */
export function offsetAt(root: Node | null | undefined, path: Path, doc?: Document): number {
  let node: Node | null | undefined = root;
  let keyNode: Node | undefined;
  for (const part of path) {
    // Through aliases and `<<` merges, to the text the value is written in (where it would be fixed).
    if (doc && isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = findPair(node, String(part), doc);
      if (!pair) break;
      keyNode = isScalar(pair.key) ? pair.key : undefined;
      node = pair.value as Node | null;
      if (!node) break;
    } else if (isSeq(node) && typeof part === 'number' && part < node.items.length) {
      keyNode = undefined;
      node = node.items[part] as Node;
    } else break;
  }
  if (keyNode?.range) return keyNode.range[0];
  return node?.range?.[0] ?? root?.range?.[0] ?? 0;
}

/** A map's own pair for a key, else (with the document to resolve aliases) the one a `<<` merges in. */
function findPair(map: YAMLMap, key: string, doc: Document | undefined): Pair | undefined {
  const own = map.items.find((p) => !isMergeKey(p.key) && keyText(p.key) === key);
  if (own || !doc) return own;
  for (const pair of map.items) {
    if (!isMergeKey(pair.key)) continue;
    for (const source of isSeq(pair.value) ? pair.value.items : [pair.value]) {
      const target = isAlias(source) ? source.resolve(doc) : source;
      const found = isMap(target) ? findPair(target, key, doc) : undefined;
      if (found) return found;
    }
  }
  return undefined;
}

export function lineColAt(lines: LineCounter, offset: number): LineCol {
  const { line, col } = lines.linePos(offset);
  return { line, col };
}

export function positionIn(doc: Document, lines: LineCounter, path: Path): LineCol {
  return lineColAt(lines, offsetAt(doc.contents as Node | null, path, doc));
}

/**
 * Maps a 1-based line/column of a config held in a ConfigMap value to the file. A literal block
 * scalar (`key: |`) keeps the config's lines as they are, one indentation deeper, from the line after
 * the key. Any other form (folded, quoted, JSON) has no such mapping: undefined, and callers point
 * at the key.
 */
export function embeddedMapper(text: string, lines: LineCounter, value: Node): ((at: LineCol) => LineCol) | undefined {
  if (!isScalar(value) || value.type !== Scalar.BLOCK_LITERAL) return undefined;
  const offset = value.range?.[0] ?? 0;
  const start = lineColAt(lines, offset);
  // The content's indentation: that of its first non-blank line (found from the scalar's own offset,
  // not by splitting the whole file, which made files with many configs quadratic).
  const contentStart = text.indexOf('\n', offset) + 1;
  const firstLine = /^(?:[ \t]*\r?\n)*([ ]*)/.exec(text.slice(contentStart, contentStart + 4096));
  const indent = firstLine?.[1]?.length ?? 0;
  return (at) => ({ line: start.line + at.line, col: indent + at.col });
}

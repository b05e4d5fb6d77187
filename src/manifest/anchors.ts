/**
 * YAML anchors, aliases and `<<` merge keys, as the API server sees them: kubectl reads YAML with
 * sigs.k8s.io/yaml, which resolves aliases and merges before any field is looked at. So a path of a
 * Kubernetes object (`spec.template.metadata`) may reach a node that is written elsewhere: behind an
 * alias (`metadata: *m`), or in the map a `<<` merges in. Editing such a node in the text would
 * change every other place that shares it, so an edit is only made where nothing else shares the
 * node it changes (see sharedEdit), and callers skip the object otherwise, at the alias's line.
 */
import { isAlias, isMap, isScalar, isSeq, visit, type Alias, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import type { EditOp, Path } from './edit-ops.js';

/** One node on the way down a path. */
export interface Step {
  /** The node reached, aliases resolved. */
  node: Node;
  /** The alias this node was reached through (replacing that alias's text is safe). */
  alias?: Alias;
  /**
   * Offset that makes the node shared: the `<<` key it was merged in by, or an alias elsewhere in the
   * document that refers to this node's anchor. An edit inside this node changes that other place too.
   */
  shared?: number;
}

export function isMergeKey(key: unknown): boolean {
  return isScalar(key) && (key.value === '<<' || (typeof key.value === 'symbol' && key.value.description === '<<'));
}

function keyIs(pair: Pair, part: string | number): boolean {
  return isScalar(pair.key) && !isMergeKey(pair.key) && String(pair.key.value) === String(part);
}

/** Where each anchor name is first used by an alias, per document (computed once, and only when the text has aliases). */
const aliasUses = new WeakMap<Document, Map<string, number>>();
/** Documents whose text has no anchor, alias or merge key: nothing in them is shared (no walk needed). */
const plainDocs = new WeakSet<Document>();
const NO_USES = new Map<string, number>();

/** What could start an anchor (`&a`), an alias (`*a`) or a merge key (`<<:`); a false hit only costs a walk. */
// `&&` (shell in a script) and `*"` (a cron schedule) are left out: no one names an anchor `&` or `"...`.
const SHARING_TOKEN = /(?:^|[\s[{,])[*&][^\s[\]{},"'&*]|<<[ \t]*:/gm;

/** Mark the documents of a text that cannot share nodes, from one scan of the text (parseSource calls this). */
export function markPlainDocuments(text: string, docs: readonly Document.Parsed[]): void {
  const hits = [...text.matchAll(SHARING_TOKEN)].map((m) => m.index);
  let h = 0;
  for (const doc of docs) {
    const [start, , end] = doc.range;
    while (h < hits.length && hits[h]! < start) h++;
    if (h >= hits.length || hits[h]! >= end) plainDocs.add(doc);
  }
}

export function isPlainDocument(doc: Document): boolean {
  return plainDocs.has(doc);
}

function usesOf(doc: Document): Map<string, number> {
  if (plainDocs.has(doc)) return NO_USES;
  let uses = aliasUses.get(doc);
  if (!uses) {
    uses = new Map();
    const found = uses;
    visit(doc, {
      Alias(_, node) {
        if (!found.has(node.source)) found.set(node.source, node.range?.[0] ?? 0);
      },
    });
    aliasUses.set(doc, uses);
  }
  return uses;
}

function hasAliases(doc: Document): boolean {
  return usesOf(doc).size > 0;
}

/** The value of `part` in a map: its own pair first, then (first source first) the maps its `<<` keys merge in. */
function mapValue(doc: Document, map: YAMLMap, part: string | number): { value: unknown; merged?: number } | undefined {
  const own = map.items.find((p) => keyIs(p, part));
  if (own) return { value: own.value };
  for (const pair of map.items) {
    if (!isMergeKey(pair.key)) continue;
    const at = (pair.key as Node).range?.[0] ?? 0;
    const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
    for (const source of sources) {
      const target = isAlias(source) ? source.resolve(doc) : source;
      if (!isMap(target)) continue;
      const found = mapValue(doc, target, part);
      if (found) return { value: found.value, merged: at };
    }
  }
  return undefined;
}

function step(doc: Document, value: unknown, merged: number | undefined, inherited: number | undefined): Step | undefined {
  let node = value as Node | null | undefined;
  let alias: Alias | undefined;
  if (isAlias(node)) {
    alias = node;
    node = node.resolve(doc);
  }
  if (!node) return undefined;
  const anchorUse = node.anchor && !alias ? usesOf(doc).get(node.anchor) : undefined;
  // Below a node reached through an alias, everything is shared with the anchor's other readers.
  const shared = inherited ?? (alias ? (alias.range?.[0] ?? 0) : undefined) ?? merged ?? anchorUse;
  return { node, ...(alias !== undefined ? { alias } : {}), ...(shared !== undefined ? { shared } : {}) };
}

/**
 * The nodes from `root` down `path`, as far as the path exists. The first step is the root itself.
 * Every step below a shared one is shared too (by the same offset).
 */
export function reach(doc: Document, root: unknown, path: Path): Step[] {
  const first = step(doc, root, undefined, undefined);
  if (!first) return [];
  const steps = [first];
  for (const part of path) {
    const here = steps[steps.length - 1]!;
    let next: Step | undefined;
    if (isMap(here.node)) {
      const found = mapValue(doc, here.node, part);
      next = found && step(doc, found.value, found.merged, here.shared);
    } else if (isSeq(here.node) && typeof part === 'number') {
      next = step(doc, here.node.items[part], undefined, here.shared);
    }
    if (!next) break;
    steps.push(next);
  }
  return steps;
}

/** The node at `path` (from the document root), as the API server would read the document. */
export function nodeAt(doc: Document, path: Path): Node | undefined {
  if (!hasAliases(doc) && !hasMergeKeys(doc)) return (doc.getIn(path, true) as Node | undefined) ?? undefined;
  const steps = reach(doc, doc.contents, path);
  return steps.length === path.length + 1 ? steps[steps.length - 1]!.node : undefined;
}

const mergeKeys = new WeakMap<Document, boolean>();

function hasMergeKeys(doc: Document): boolean {
  if (plainDocs.has(doc)) return false;
  let found = mergeKeys.get(doc);
  if (found === undefined) {
    found = false;
    visit(doc, {
      Pair(_, pair) {
        if (isMergeKey(pair.key)) {
          found = true;
          return visit.BREAK;
        }
        return undefined;
      },
    });
    mergeKeys.set(doc, found);
  }
  return found;
}

/** Whether a document has anything that can make a node shared (cheap after the first call). */
export function mayShare(doc: Document): boolean {
  return hasAliases(doc) || hasMergeKeys(doc);
}

/**
 * The offset of what makes one of these edits change another node too (an alias, a `<<` key), or
 * undefined when every edit touches only nodes of the object's own. `base` is the object's path in the
 * document. An op edits the collection at its path (or, where that is missing, the nearest ancestor that
 * exists, which gets the new key); a scalar replaced is safe when it is an alias (the alias's text is
 * replaced, its anchor stays), not when its own anchor is used elsewhere.
 */
export function sharedEdit(doc: Document, base: Path, ops: EditOp[]): number | undefined {
  if (!mayShare(doc)) return undefined;
  for (const op of ops) {
    const full = [...base, ...op.path];
    const steps = reach(doc, doc.contents, full);
    if (op.op === 'setScalar') {
      const parents = steps.slice(0, Math.min(steps.length, full.length));
      const parentShared = parents.find((s) => s.shared !== undefined)?.shared;
      if (parentShared !== undefined) return parentShared;
      const target = steps.length === full.length + 1 ? steps[steps.length - 1]! : undefined;
      if (target && target.alias === undefined && target.shared !== undefined) return target.shared;
      continue;
    }
    // A missing collection is created in its nearest existing ancestor: the last step reached.
    const shared = steps.find((s) => s.shared !== undefined)?.shared;
    if (shared !== undefined) return shared;
  }
  return undefined;
}

/** Offset of the first alias in a document whose anchor is not defined before it (in this document). */
export function unresolvedAlias(doc: Document): { offset: number; name: string } | undefined {
  const anchors = new Set<string>();
  let found: { offset: number; name: string } | undefined;
  visit(doc, (_, node) => {
    const n = node as Node;
    if (isAlias(n)) {
      if (!anchors.has(n.source)) {
        found = { offset: n.range?.[0] ?? 0, name: n.source };
        return visit.BREAK;
      }
    } else if ((isScalar(n) || isMap(n) || isSeq(n)) && n.anchor) anchors.add(n.anchor);
    return undefined;
  });
  return found;
}

/** The source text of the alias at `path` (`*p`), when the value there is one; else undefined. */
export function aliasText(text: string, doc: Document, path: Path): string | undefined {
  if (!hasAliases(doc)) return undefined;
  const steps = reach(doc, doc.contents, path);
  const alias = steps.length === path.length + 1 ? steps[steps.length - 1]!.alias : undefined;
  return alias?.range ? text.slice(alias.range[0], alias.range[1]) : undefined;
}

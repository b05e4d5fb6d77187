/**
 * Changes to one Kubernetes object, described independently of how the file is written.
 * inject and uninject produce these; a backend (YAML text splicing or JSON) carries them out.
 *
 * Paths are relative to the object (e.g. ['spec', 'template', 'spec', 'volumes']).
 * A path that does not exist yet is created by the operations that add things.
 */
export type Path = (string | number)[];

export type EditOp =
  /** Insert items into the sequence at `path` (created if missing): at its start, end, or before an index. */
  | { op: 'insertItems'; path: Path; at: 'start' | 'end' | number; values: unknown[] }
  /** Add pairs to the map at `path` (created if missing); keys already present get their value replaced. */
  | { op: 'setPairs'; path: Path; pairs: [string, unknown][] }
  /** Remove the items at these indexes of the sequence at `path`. */
  | { op: 'removeItems'; path: Path; indexes: number[] }
  /** Remove these keys of the map at `path`. */
  | { op: 'removeKeys'; path: Path; keys: string[] }
  /** Replace the scalar at `path`; `source` is the exact original text when restoring (YAML only). */
  | { op: 'setScalar'; path: Path; value: unknown; source?: string };

/** Objects to add beside the object (ConfigMaps, Certificates): placed before it, so they apply first. */
export interface ObjectEdits {
  ops: EditOp[];
  addBefore: unknown[];
}

/** Read a value at a path in a plain object tree. */
export function getPath(root: unknown, path: Path): unknown {
  let node: unknown = root;
  for (const part of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[part];
  }
  return node;
}

/**
 * Carry out the ops on a plain JS object (used for JSON files and to compute the result of an edit
 * without touching text). Mutates `root`.
 */
export function applyOpsToObject(root: Record<string, unknown>, ops: EditOp[]): void {
  for (const op of ops) {
    switch (op.op) {
      case 'insertItems': {
        const seq = ensureContainer(root, op.path, () => []) as unknown[];
        const index = op.at === 'start' ? 0 : op.at === 'end' ? seq.length : op.at;
        seq.splice(index, 0, ...structuredClone(op.values));
        break;
      }
      case 'setPairs': {
        const map = ensureContainer(root, op.path, () => ({})) as Record<string, unknown>;
        for (const [key, value] of op.pairs) map[key] = structuredClone(value);
        break;
      }
      case 'removeItems': {
        const seq = getPath(root, op.path);
        if (!Array.isArray(seq)) break;
        for (const index of [...op.indexes].sort((a, b) => b - a)) seq.splice(index, 1);
        break;
      }
      case 'removeKeys': {
        const map = getPath(root, op.path);
        if (map && typeof map === 'object') for (const key of op.keys) delete (map as Record<string, unknown>)[key];
        break;
      }
      case 'setScalar': {
        const parent = getPath(root, op.path.slice(0, -1));
        if (parent && typeof parent === 'object') (parent as Record<string | number, unknown>)[op.path.at(-1)!] = op.value;
        break;
      }
    }
  }
}

function ensureContainer(root: Record<string, unknown>, path: Path, make: () => unknown): unknown {
  let node: Record<string | number, unknown> = root;
  path.forEach((part, i) => {
    const last = i === path.length - 1;
    if (node[part] === undefined || node[part] === null) node[part] = last ? make() : {};
    node = node[part] as Record<string | number, unknown>;
  });
  return node;
}

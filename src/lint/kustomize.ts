/**
 * `sidecarctl lint --kustomize DIR`: lint what `kubectl kustomize DIR` builds (overlays, patches and
 * components applied), and say each finding where the built object came from.
 *
 * The build runs on a kustomization of our own in a temporary directory that has DIR as its only
 * resource and `buildMetadata: [originAnnotations]`, so kustomize writes `config.kubernetes.io/origin`
 * (the source file of each object) without the user's kustomization being touched. A finding is mapped
 * to that file by the path of the node it points at: to the line of that node, or of the deepest part of
 * it the source has (a field an overlay patched in is reported where its object is). An object kustomize
 * generated (configMapGenerator) has no source file: its findings stay on the build's lines.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { execa } from 'execa';
import { isMap, isScalar, isSeq, parse, type Document, type Node } from 'yaml';
import { UserError } from '../errors.js';
import { parseSource, type SourceFile } from '../manifest/source.js';
import { objectsOf } from '../manifest/workloads.js';
import { offsetAt, type Path } from './locate.js';
import type { Finding } from './types.js';

const ORIGIN = 'config.kubernetes.io/origin';

export interface KustomizeBuild {
  source: SourceFile;
  /** The directory the origin paths are relative to (our kustomization's; gone after the build). */
  root: string;
}

/** Build DIR with kubectl kustomize, origin annotations on. The stream as a SourceFile named after DIR. */
export async function buildKustomization(dir: string): Promise<KustomizeBuild> {
  const work = await mkdtemp(join(tmpdir(), 'sidecarctl-kustomize-'));
  try {
    // kustomize refuses an absolute resource path: a relative one from our directory to DIR.
    const target = relative(work, resolve(dir));
    await writeFile(join(work, 'kustomization.yaml'), `resources:\n- ${JSON.stringify(target)}\nbuildMetadata: [originAnnotations]\n`);
    const result = await execa('kubectl', ['kustomize', work], { reject: false });
    if (result.exitCode !== 0) {
      const message = String(result.stderr || result.stdout || result.message).trim().split('\n').at(-1)!;
      throw new UserError(`kubectl kustomize failed: ${message.replaceAll(work, '.')}`, dir);
    }
    return { source: parseSource(`${dir} (kustomize build)`, String(result.stdout)), root: work };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The path of keys and indexes to the node at `offset` in a document (a key, or a list item's start). */
export function pathAtOffset(root: unknown, offset: number): Path {
  const path: (string | number)[] = [];
  let node = root as Node | null | undefined;
  for (;;) {
    if (isMap(node)) {
      const pair = node.items.find((p) => {
        const key = p.key as Node | null;
        const value = p.value as Node | null;
        const start = key?.range?.[0] ?? 0;
        const end = value?.range?.[1] ?? key?.range?.[1] ?? 0;
        return offset >= start && offset < Math.max(end, start + 1);
      });
      if (!pair || !isScalar(pair.key)) return path;
      path.push(String(pair.key.value));
      if ((pair.key as Node).range?.[0] === offset) return path;
      node = pair.value as Node | null;
    } else if (isSeq(node)) {
      const index = node.items.findIndex((item) => {
        const r = (item as Node | null)?.range;
        return r != null && offset >= r[0] && offset < r[1];
      });
      if (index === -1) return path;
      path.push(index);
      node = node.items[index] as Node;
    } else return path;
  }
}

/** Which built object (a document of the stream) holds a line. */
function builtObjectAt(built: SourceFile, line: number): { object: Record<string, unknown>; doc: Document } | undefined {
  const offset = built.lines.lineStarts[line - 1] ?? 0;
  const docIndex = built.docs.findIndex((d) => offset >= d.range[0] && offset < d.range[2]);
  const doc = built.docs[docIndex];
  if (!doc) return undefined;
  const object = doc.toJS() as Record<string, unknown> | null;
  return object ? { object, doc } : undefined;
}

function originOf(object: Record<string, unknown>): string | undefined {
  const annotations = (object.metadata as { annotations?: Record<string, unknown> } | undefined)?.annotations;
  const raw = annotations?.[ORIGIN];
  if (typeof raw !== 'string') return undefined;
  const origin = parse(raw) as { path?: unknown } | null;
  return typeof origin?.path === 'string' ? origin.path : undefined;
}

const names = (o: Record<string, unknown>) => String((o.metadata as { name?: unknown } | undefined)?.name ?? '');

/** The object in a source file that became `built`: same kind, and the name kustomize started from. */
function sourceObject(source: SourceFile, built: Record<string, unknown>): { docIndex: number; base: Path } | undefined {
  const candidates = source.docs.flatMap((doc, i) => objectsOf(doc, i)).filter((r) => r.kind === built.kind);
  const name = names(built);
  // namePrefix/nameSuffix: the built name contains the source's.
  const match = candidates.find((r) => r.name === name) ?? candidates.filter((r) => r.name && name.includes(r.name)).sort((a, b) => b.name.length - a.name.length)[0];
  return match ? { docIndex: match.docIndex, base: match.base } : undefined;
}

/** Findings on the build, moved to the source files the objects came from. */
export async function mapToSources(findings: Finding[], build: KustomizeBuild): Promise<Finding[]> {
  const built = build.source;
  const sources = new Map<string, SourceFile | null>();
  const load = async (file: string) => {
    if (!sources.has(file)) sources.set(file, await readFile(file, 'utf8').then((t) => parseSource(file, t)).catch(() => null));
    return sources.get(file) ?? undefined;
  };
  const out: Finding[] = [];
  for (const f of findings) {
    const at = f.file === built.path ? builtObjectAt(built, f.line) : undefined;
    const origin = at && originOf(at.object);
    if (!at || !origin) {
      out.push(f);
      continue;
    }
    const file = resolve(build.root, origin);
    const source = await load(file);
    const target = source && sourceObject(source, at.object);
    if (!source || !target) {
      out.push(f);
      continue;
    }
    const offset = built.lines.lineStarts[f.line - 1]! + f.col - 1;
    const path = pathAtOffset(at.doc.contents, offset);
    const doc = source.docs[target.docIndex]!;
    const { line, col } = source.lines.linePos(offsetAt(doc.contents as Node, [...target.base, ...path], doc));
    out.push({ ...f, file: displayPath(file), line, col });
  }
  return out;
}

function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/**
 * What a kustomization next to them makes of files: patches (`patches[].path`, `patchesStrategicMerge`,
 * `patchesJson6902[].path`), partial objects that lint file by file must not judge as whole ones, and
 * resources, which its transformers may complete (--kustomize lints them built).
 */
export async function kustomizeRoles(files: string[]): Promise<Map<string, 'patch' | 'resource'>> {
  const roles = new Map<string, 'patch' | 'resource'>();
  for (const dir of new Set(files.map((f) => dirname(resolve(f))))) {
    for (const name of KUSTOMIZATION_FILES) {
      const text = await readFile(join(dir, name), 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      let k: Record<string, unknown> | null = null;
      try {
        k = parse(text) as Record<string, unknown> | null;
      } catch {
        break; // not ours to report: kustomize will
      }
      const entries = [k?.patches, k?.patchesStrategicMerge, k?.patchesJson6902].flatMap((v) => (Array.isArray(v) ? v : []));
      for (const e of entries) {
        const path = typeof e === 'string' ? e : e && typeof e === 'object' && typeof (e as { path?: unknown }).path === 'string' ? (e as { path: string }).path : undefined;
        if (path && !path.includes('\n')) roles.set(resolve(dir, path), 'patch');
      }
      for (const r of Array.isArray(k?.resources) ? k.resources : []) if (typeof r === 'string' && !roles.has(resolve(dir, r))) roles.set(resolve(dir, r), 'resource');
      break;
    }
  }
  return roles;
}

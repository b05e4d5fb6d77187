/**
 * ConfigMaps and Secrets a pod uses that are not in the input set. A warning: they may well exist in
 * the cluster already, but a sidecar's ConfigMap left out of `kubectl apply` leaves the pod pending.
 */
import { isPlainObject } from '../../manifest/workloads.js';
import type { Path } from '../locate.js';
import { namespaceOf, sameNamespace } from '../pod.js';
import type { Rule, RuleFinding } from '../types.js';

type Json = Record<string, unknown>;
interface Reference {
  kind: 'ConfigMap' | 'Secret';
  name: string;
  path: Path;
  container?: string;
}

const obj = (v: unknown): Json => (isPlainObject(v) ? v : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** A reference unless it is marked optional (then the pod starts without it). */
function ref(kind: Reference['kind'], source: Json, nameKey: string, path: Path, container?: string): Reference[] {
  const name = source[nameKey];
  if (typeof name !== 'string' || source.optional === true) return [];
  return [{ kind, name, path: [...path, nameKey], ...(container ? { container } : {}) }];
}

function volumeRefs(spec: Json, specPath: Path): Reference[] {
  return list(spec.volumes).flatMap((v, i) => {
    const volume = obj(v);
    const at: Path = [...specPath, 'volumes', i];
    const projected = list(obj(volume.projected).sources).flatMap((s, j) => [
      ...ref('ConfigMap', obj(obj(s).configMap), 'name', [...at, 'projected', 'sources', j, 'configMap']),
      ...ref('Secret', obj(obj(s).secret), 'name', [...at, 'projected', 'sources', j, 'secret']),
    ]);
    return [...ref('ConfigMap', obj(volume.configMap), 'name', [...at, 'configMap']), ...ref('Secret', obj(volume.secret), 'secretName', [...at, 'secret']), ...projected];
  });
}

function containerRefs(container: Json, path: Path): Reference[] {
  const name = String(container.name ?? '');
  const env = list(container.env).flatMap((e, i) => {
    const from = obj(obj(e).valueFrom);
    const at: Path = [...path, 'env', i, 'valueFrom'];
    return [...ref('ConfigMap', obj(from.configMapKeyRef), 'name', [...at, 'configMapKeyRef'], name), ...ref('Secret', obj(from.secretKeyRef), 'name', [...at, 'secretKeyRef'], name)];
  });
  const envFrom = list(container.envFrom).flatMap((e, i) => {
    const at: Path = [...path, 'envFrom', i];
    return [...ref('ConfigMap', obj(obj(e).configMapRef), 'name', [...at, 'configMapRef'], name), ...ref('Secret', obj(obj(e).secretRef), 'name', [...at, 'secretRef'], name)];
  });
  return [...env, ...envFrom];
}

export const missingReference: Rule = {
  id: 'missing-reference',
  severity: 'warning',
  summary: 'ConfigMaps and Secrets that pods use are in the input set (warning: they may exist in the cluster already)',
  check(model) {
    const present: { kind: string; name: string; namespace: string | undefined }[] = model.objects
      .filter((o) => o.ref.kind === 'ConfigMap' || o.ref.kind === 'Secret')
      .map((o) => ({ kind: o.ref.kind, name: o.ref.name, namespace: o.ref.namespace }));
    // cert-manager writes the Secret a Certificate names (spec.secretName): it will be there.
    for (const o of model.objects) {
      const secretName = o.ref.kind === 'Certificate' ? obj(o.ref.value.spec).secretName : undefined;
      if (typeof secretName === 'string') present.push({ kind: 'Secret', name: secretName, namespace: o.ref.namespace });
    }
    const out: RuleFinding[] = [];
    for (const workload of model.workloads) {
      const ns = namespaceOf(workload.ref.value);
      const refs = [...volumeRefs(workload.spec, workload.specPath), ...workload.containers.flatMap((c) => containerRefs(c.value, c.path))];
      for (const r of refs) {
        if (present.some((o) => o.kind === r.kind && o.name === r.name && sameNamespace(o.namespace, ns))) continue;
        out.push({
          at: workload.at(r.path),
          message: `${r.kind} "${r.name}" is not among the linted files: apply it with the workload (or mark the reference optional: true) or the pod will not start`,
          subject: workload,
          ...(r.container ? { container: r.container } : {}),
        });
      }
    }
    return out;
  },
};

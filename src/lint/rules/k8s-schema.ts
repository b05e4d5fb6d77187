/**
 * Every object valid for the Kubernetes API (schema, unknown fields, the API server's own checks); custom
 * resources against the CRDs among the linted files; a kind nothing can check is said once, as info.
 */
import { validateKubernetesObject } from '../../validate/kubernetes.js';
import { CrdCatalog } from '../../validate/crd.js';
import type { Rule, RuleFinding } from '../types.js';

/** Issues a more specific rule reports with a better fix. */
function coveredElsewhere(path: (string | number)[], message: string): boolean {
  const last = path[path.length - 1];
  if (path.includes('volumeMounts') && last === 'name' && /volume/i.test(message)) return true;
  return typeof last === 'string' && last.endsWith('Probe') && message.includes('init container');
}

export const k8sSchema: Rule = {
  id: 'k8s-schema',
  severity: 'error',
  summary: 'objects are valid for the Kubernetes API: schema, unknown fields (typos), the API server\'s own checks, custom resources against their CRDs',
  check(model) {
    const crds = new CrdCatalog();
    for (const o of model.objects) if (o.ref.kind === 'CustomResourceDefinition' && String(o.ref.value.apiVersion) === 'apiextensions.k8s.io/v1') crds.add(o.ref.value);
    const unchecked = new Set<string>();
    const out: RuleFinding[] = [];
    for (const object of model.objects) {
      // A kustomize patch is a partial object: judged once applied (--kustomize), not as it is.
      if (object.source.kustomize === 'patch') continue;
      // A kustomize resource may get required fields from its kustomization (commonLabels: selectors).
      const completed = object.source.kustomize === 'resource';
      const result = validateKubernetesObject(object.ref.value, crds);
      if (!result.known && result.issues.length === 0) {
        const kind = `${String(object.ref.value.apiVersion)} ${object.ref.kind}`;
        if (unchecked.has(kind)) continue;
        unchecked.add(kind);
        out.push({ at: object.at(['kind']), severity: 'info', message: `${kind}: not checked (no schema known for it, and no CustomResourceDefinition of it among the linted files)`, subject: object });
        continue;
      }
      for (const i of result.issues) if (!coveredElsewhere(i.path, i.message) && !(completed && i.message.includes('missing required field'))) out.push({ at: object.at(i.path), message: i.message, subject: object });
    }
    return out;
  },
};

/** Every object valid for the Kubernetes API (schema, unknown fields, the API server's own checks). */
import { validateKubernetesObject } from '../../validate/kubernetes.js';
import type { Rule } from '../types.js';

/** Issues a more specific rule reports with a better fix. */
function coveredElsewhere(path: (string | number)[], message: string): boolean {
  const last = path[path.length - 1];
  if (path.includes('volumeMounts') && last === 'name' && /volume/i.test(message)) return true;
  return typeof last === 'string' && last.endsWith('Probe') && message.includes('init container');
}

export const k8sSchema: Rule = {
  id: 'k8s-schema',
  severity: 'error',
  summary: 'objects are valid for the Kubernetes API: schema, unknown fields (typos), and the API server\'s own checks',
  check(model) {
    return model.objects.flatMap((object) =>
      validateKubernetesObject(object.ref.value)
        .issues.filter((i) => !coveredElsewhere(i.path, i.message))
        .map((i) => ({ at: object.at(i.path), message: i.message, subject: object })),
    );
  },
};

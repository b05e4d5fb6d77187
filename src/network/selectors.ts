/**
 * Kubernetes label selectors (`matchLabels` and `matchExpressions`), as NetworkPolicies use them:
 * which pods a policy applies to, and which pods its peers are.
 */
import { isPlainObject } from '../manifest/workloads.js';

type Labels = Record<string, unknown>;

/**
 * Whether a LabelSelector selects these labels. An empty selector (`{}`) selects every pod; an
 * absent or malformed one nothing (the API would refuse a malformed one anyway).
 */
export function selectorMatches(selector: unknown, labels: Labels): boolean {
  if (!isPlainObject(selector)) return false;
  const { matchLabels, matchExpressions } = selector;
  if (matchLabels !== undefined && matchLabels !== null) {
    if (!isPlainObject(matchLabels)) return false;
    if (!Object.entries(matchLabels).every(([k, v]) => labels[k] !== undefined && String(labels[k]) === String(v))) return false;
  }
  if (matchExpressions !== undefined && matchExpressions !== null) {
    if (!Array.isArray(matchExpressions)) return false;
    return matchExpressions.every((e) => isPlainObject(e) && expressionMatches(e, labels));
  }
  return true;
}

function expressionMatches(e: Record<string, unknown>, labels: Labels): boolean {
  const key = String(e.key);
  const values = Array.isArray(e.values) ? e.values.map(String) : [];
  const has = labels[key] !== undefined;
  switch (e.operator) {
    case 'In':
      return has && values.includes(String(labels[key]));
    case 'NotIn':
      return !has || !values.includes(String(labels[key]));
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    default:
      return false;
  }
}

/**
 * Whether a namespaceSelector may select a namespace. Only `kubernetes.io/metadata.name` (which
 * the API server sets on every namespace) is known without the cluster: any other label may or may
 * not be there, so such a selector counts as selecting it (amending a rule that does not apply is
 * harmless; missing one that does breaks the pod).
 */
export function namespaceMayMatch(selector: unknown, namespace: string): boolean {
  if (!isPlainObject(selector)) return false;
  const known = { 'kubernetes.io/metadata.name': namespace };
  const { matchLabels } = selector;
  if (isPlainObject(matchLabels) && 'kubernetes.io/metadata.name' in matchLabels && String(matchLabels['kubernetes.io/metadata.name']) !== namespace) return false;
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions.filter(isPlainObject) : [];
  return expressions.every((e) => e.key !== 'kubernetes.io/metadata.name' || expressionMatches(e, known));
}

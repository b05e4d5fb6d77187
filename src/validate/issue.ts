/**
 * One problem found by a validator, located by its path from the root of the validated value
 * (object keys and array indexes), so that callers holding the YAML source can map it to a line.
 */
export interface ConfigIssue {
  path: (string | number)[];
  message: string;
}

/** `a.b[0].c` for messages. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${part}` : part;
  return out || '(root)';
}

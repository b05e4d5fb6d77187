/** Findings as JSON for scripts: `{ files, errors, warnings, findings: [...] }`. */
import type { Finding } from '../types.js';

export function formatJson(findings: readonly Finding[], files: number): string {
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.filter((f) => f.severity === 'warning').length;
  // Info findings (kinds not checked) are counted apart, and only when there are some.
  const info = findings.length - errors - warnings;
  return JSON.stringify({ files, errors, warnings, ...(info > 0 ? { info } : {}), findings }, null, 2) + '\n';
}

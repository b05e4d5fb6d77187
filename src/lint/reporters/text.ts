/** `file:line:col: severity: message [rule]`, the shape editors and terminals turn into links. */
import type { Finding } from '../types.js';

export function formatText(findings: readonly Finding[], files: number): string {
  const lines = findings.map((f) => `${f.file}:${f.line}:${f.col}: ${f.severity}: ${f.message} [${f.rule}]\n`);
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.filter((f) => f.severity === 'warning').length;
  const infos = findings.length - errors - warnings;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return lines.join('') + `${plural(files, 'file')} linted: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}${infos > 0 ? `, ${infos} not checked or informational` : ''}\n`;
}

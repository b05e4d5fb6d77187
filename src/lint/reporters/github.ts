/**
 * `--format github`: GitHub Actions workflow commands (`::error file=F,line=L,col=C,title=T::message`),
 * which the runner turns into annotations on the pull request's diff, without a SARIF upload.
 * Escaping as the runner's toolkit does it (@actions/core's command.ts): `%`, CR and LF in the message;
 * also `:` and `,` in properties.
 */
import type { Finding, Severity } from '../types.js';

const LEVEL: Record<Severity, string> = { error: 'error', warning: 'warning', info: 'notice' };

function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export function formatGithub(findings: readonly Finding[]): string {
  return findings
    .map((f) => {
      const props = [`file=${escapeProperty(f.file)}`, `line=${f.line}`, `col=${f.col}`, `title=${escapeProperty(`sidecarctl ${f.rule}`)}`];
      return `::${LEVEL[f.severity]} ${props.join(',')}::${escapeData(f.message)}\n`;
    })
    .join('');
}

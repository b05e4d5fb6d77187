/** The per-workload report on stderr: text for people, JSON for machines. */
import chalk from 'chalk';
import type { WorkloadReport } from '../inject/run.js';

export function formatReport(reports: WorkloadReport[], format: string): string {
  if (format === 'json') return JSON.stringify(reports, null, 2) + '\n';
  return reports.map(formatLine).join('');
}

function formatLine(r: WorkloadReport): string {
  const where = chalk.dim(`${r.file}:${r.line}`);
  const head =
    r.action === 'skipped'
      ? `${chalk.yellow('skipped')}  ${r.object} ${where}: ${r.reason ?? ''}`
      : `${chalk.green(r.action.padEnd(8))} ${r.object} ${where}`;
  const notes = r.notes.map((n) => `           ${n.startsWith('warning') ? chalk.yellow(n) : n}\n`).join('');
  return head + '\n' + notes;
}

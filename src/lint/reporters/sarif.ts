/**
 * SARIF 2.1.0, the format GitHub code scanning (and others) ingest. Paths are relative to the current
 * directory with `/` separators, under the `%SRCROOT%` base, as code scanning expects.
 */
import { relative, resolve, sep } from 'node:path';
import type { Finding, Rule, Severity } from '../types.js';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
const INFORMATION_URI = 'https://www.npmjs.com/package/sidecarctl';

function uriOf(file: string): string {
  if (file === '<stdin>') return 'stdin';
  return relative(process.cwd(), resolve(file)).split(sep).map(encodeURIComponent).join('/');
}

export function formatSarif(findings: readonly Finding[], rules: readonly Rule[], version: string): string {
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const log = {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'sidecarctl',
            version,
            informationUri: INFORMATION_URI,
            rules: rules.map((r) => ({
              id: r.id,
              name: r.id.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase()),
              shortDescription: { text: r.summary },
              defaultConfiguration: { level: sarifLevel(r.severity) },
            })),
          },
        },
        results: findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: index.get(f.rule),
          level: sarifLevel(f.severity),
          message: { text: f.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: uriOf(f.file), uriBaseId: '%SRCROOT%' },
                region: { startLine: f.line, startColumn: f.col },
              },
            },
          ],
        })),
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
}

/** SARIF's levels are error, warning and note. */
function sarifLevel(severity: Severity): 'error' | 'warning' | 'note' {
  return severity === 'info' ? 'note' : severity;
}

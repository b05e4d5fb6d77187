/**
 * The template renderer parses the output of the bundled templates only when the value is read
 * (src/templates.ts). These check its premise (a value put in through `json` in a value position is
 * one YAML value, whatever it holds) and that a user's own templates are still parsed every time.
 */
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { UserError } from '../../src/errors.js';
import { renderYamlTemplate } from '../../src/templates.js';

describe('a JSON value in a YAML template', () => {
  const contexts: [string, (json: string) => string][] = [
    ['a block map value', (json) => `outer:\n  key: ${json}\n  next: 1\n`],
    ['a block sequence item', (json) => `list:\n  - ${json}\n  - 1\n`],
    ['a flow map value', (json) => `flow: {key: ${json}, next: 1}\n`],
  ];
  for (const [where, wrap] of contexts) {
    it(`is one value as ${where}, whatever it holds`, () => {
      fc.assert(
        fc.property(fc.oneof(fc.jsonValue(), fc.string({ unit: 'binary' })), (value) => {
          const json = JSON.stringify(value);
          const parsed = parse(wrap(json)) as Record<string, unknown>;
          const roundTripped = JSON.parse(json) as unknown;
          const inner = Object.values(parsed)[0] as Record<string, unknown> | unknown[];
          expect(Array.isArray(inner) ? inner[0] : inner.key).toEqual(roundTripped);
        }),
        { numRuns: 300 },
      );
    });
  }
});

describe('a user template (--templates)', () => {
  it('is parsed on every render: a text that does not parse fails even after one of the same shape did', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidecarctl-templates-'));
    // Values in key position: not how the bundled templates write them, so the premise does not hold.
    writeFileSync(join(dir, 'envoy.yaml.hbs'), '{{json a}}: 1\n{{json b}}: 2\n');
    expect(renderYamlTemplate('envoy.yaml.hbs', { a: 'x', b: 'y' }, dir).value).toEqual({ x: 1, y: 2 });
    const duplicate = () => renderYamlTemplate('envoy.yaml.hbs', { a: 'x', b: 'x' }, dir);
    expect(duplicate).toThrow(UserError);
    expect(duplicate).toThrow(/template rendered invalid YAML: Map keys must be unique/);
  });
});

/**
 * k8s-schema on CRDs and custom resources: a CRD with every extension field is valid; typos in its
 * schema are still found; custom resources are checked against the CRDs among the linted files; a
 * kind nothing can check is said once, at info level.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSource } from '../../src/manifest/source.js';
import { hasErrors } from '../../src/lint/engine.js';
import { ROOT } from '../helpers/corpus.js';
import { lint, markers } from './helpers.js';

const dir = join(ROOT, 'test/lint/fixtures/crd');
const read = (name: string) => readFileSync(join(dir, name), 'utf8');
const source = (name: string, text = read(name)) => parseSource(name, text);

describe('CRDs and custom resources', () => {
  it('a CRD with every extension field (description, x-kubernetes-*, printer column descriptions) has no finding', async () => {
    expect(await lint([source('widgets-crd.yaml')])).toEqual([]);
  });

  it('a typo in a CRD schema or printer column is still an unknown field, at its line', async () => {
    const text = read('widgets-crd.yaml').replace('x-kubernetes-list-type: set', 'x-kubernetes-list-typ: set').replace('          priority: 0', '          priorty: 0');
    const findings = await lint([source('widgets-crd.yaml', text)]);
    const lines = text.split('\n');
    expect(findings.map((f) => `${lines[f.line - 1]!.trim()} ${f.rule}`).sort()).toEqual(['priorty: 0 k8s-schema', 'x-kubernetes-list-typ: set k8s-schema']);
  });

  it('custom resources are validated against the CRD linted with them: every marked line, and only those', async () => {
    const findings = await lint([source('widgets-crd.yaml'), source('widgets.yaml')]);
    expect(findings.filter((f) => f.file === 'widgets.yaml').map((f) => `${f.line} ${f.rule}`).sort()).toEqual(markers(read('widgets.yaml')).sort());
  });

  it('without the CRD: one info "not checked" per kind, never an error', async () => {
    const findings = await lint([source('widgets.yaml')]);
    expect(findings.map((f) => `${f.severity} ${f.line}`)).toEqual(['info 2', 'info 30']);
    expect(findings[0]!.message).toMatch(/^example\.com\/v1 Widget: not checked/);
    expect(hasErrors(findings)).toBe(false);
  });

  it('cert-manager Certificates are checked by their own schema', async () => {
    const text = 'apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: c\nspec:\n  secretName: s\n  issuerRef: {name: ca}\n  dnsNames: [a.example]\n  duraton: 24h\n';
    const findings = await lint([parseSource('cert.yaml', text)]);
    expect(findings.map((f) => `${f.line} ${f.severity} ${f.rule}`)).toEqual(['9 error k8s-schema']);
  });
});

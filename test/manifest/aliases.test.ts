/**
 * YAML aliases and `<<` merge keys: inject, uninject and lint read them as the API server does
 * (sigs.k8s.io/yaml resolves both), edit only what belongs to one object, and skip, at the alias's
 * line, a workload whose edit would also change what shares the anchor.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { runInjection } from '../../src/inject/run.js';
import { parseSource } from '../../src/manifest/source.js';
import { UserError } from '../../src/errors.js';
import { flagsLayer } from '../../src/cli/settings-flags.js';
import { ROOT } from '../helpers/corpus.js';
import { validateKubernetesObject } from '../../src/validate/kubernetes.js';
import { lint } from '../lint/helpers.js';

const dir = join(ROOT, 'test/manifest/fixtures');
const load = (name: string) => parseSource(name, readFileSync(join(dir, name), 'utf8'));
const inject = (name: string, flags: Record<string, unknown> = {}) =>
  runInjection([load(name)], { mode: 'inject', profile: [], flags: flagsLayer(flags) });
const uninject = (text: string, name: string) => runInjection([parseSource(name, text)], { mode: 'uninject', profile: [], flags: [] }).files[0]!.text;
/** Schema issues of every object, the stream read with merge keys as the API server reads it. */
const schemaIssues = (text: string) =>
  parseAllDocuments(text, { merge: true }).flatMap((d) => validateKubernetesObject(d.toJS()).issues.map((i) => i.message));
const lineOf = (name: string, pattern: RegExp) => readFileSync(join(dir, name), 'utf8').split('\n').findIndex((l) => pattern.test(l)) + 1;

describe('aliases and merge keys', () => {
  it('a pod template `metadata: *m` is skipped at the alias, with a code, and the file is left as it was', () => {
    const result = inject('alias-pod-metadata.yaml');
    expect(result.files[0]!.changed).toBe(false);
    const report = result.reports.find((r) => r.object === 'Deployment/web')!;
    expect(report).toMatchObject({ action: 'skipped', skip: 'shared-anchor', line: lineOf('alias-pod-metadata.yaml', /metadata: \*m/) });
  });

  it('`targetPort: *p` is re-pointed as an alias (its anchor stays) and uninject puts the alias back', () => {
    const name = 'alias-target-port.yaml';
    const result = inject(name);
    const out = result.files[0]!.text;
    expect(result.reports.find((r) => r.object === 'Deployment/web')?.action).toBe('injected');
    const service = parse(out, { merge: true }).items.find((o: { kind: string }) => o.kind === 'Service');
    expect(service.spec.ports[0].targetPort).toBe(15006);
    expect(out).toContain('containerPort: &p 8080');
    expect(schemaIssues(out)).toEqual([]);
    expect(uninject(out, name)).toBe(readFileSync(join(dir, name), 'utf8'));
  });

  it('a `<<` merge: proxy-only inject edits nothing shared; a log shipper (mounts in the merged container) is skipped at the `<<`', () => {
    const name = 'merge-containers.yaml';
    const plain = inject(name);
    expect(plain.reports[0]?.action).toBe('injected');
    const containers = parseAllDocuments(plain.files[0]!.text, { merge: true }).map((d) => d.toJS()).find((o) => o.kind === 'Deployment').spec.template.spec.containers;
    // The merged container keeps what it merges in (image), as the API server reads it.
    expect(containers.map((c: { name: string; image: string }) => `${c.name} ${c.image}`)).toEqual(['web nginx:1.25', 'other nginx:1.25']);
    expect(uninject(plain.files[0]!.text, name)).toBe(readFileSync(join(dir, name), 'utf8'));
    const logged = inject(name, { logging: 'fluent-bit' });
    expect(logged.files[0]!.changed).toBe(false);
    expect(logged.reports[0]).toMatchObject({ action: 'skipped', skip: 'shared-anchor', line: lineOf(name, /<<: \*base/) });
  });

  it('a pod spec with a `<<` of its own and aliased labels: injected, valid, and back byte for byte', () => {
    const name = 'merge-base-pod.yaml';
    const result = inject(name, { logging: 'fluent-bit', retries: '2' });
    expect(result.reports.map((r) => r.action)).toEqual(['injected']);
    const out = result.files[0]!.text;
    expect(schemaIssues(out)).toEqual([]);
    expect(out).toContain('<<: &podBase');
    expect(uninject(out, name)).toBe(readFileSync(join(dir, name), 'utf8'));
  });

  it('an alias to an anchor of another document is a UserError at the alias\'s line', () => {
    const name = 'alias-across-documents.yaml';
    let error: unknown;
    try {
      load(name);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).format()).toBe(`${name}:${lineOf(name, /data: \*d/)}: alias *d has no anchor &d before it in this document (anchors do not reach across documents)`);
  });

  it('lint reads merged fields (no unknown "<<") and points into the anchor for a value written there', async () => {
    const original = readFileSync(join(dir, 'merge-containers.yaml'), 'utf8');
    expect((await lint([parseSource('m.yaml', original)])).filter((f) => f.rule === 'k8s-schema')).toEqual([]);
    // A bad value in the anchored container is wrong in both containers, and written on one line.
    const findings = await lint([parseSource('m.yaml', original.replace('image: nginx:1.25', 'image: 5'))]);
    const schema = findings.filter((f) => f.rule === 'k8s-schema');
    expect(schema.map((f) => f.message.split(':')[0])).toEqual(['spec.template.spec.containers[0].image', 'spec.template.spec.containers[1].image']);
    expect(new Set(schema.map((f) => f.line))).toEqual(new Set([lineOf('merge-containers.yaml', /image: nginx/)]));
    const injected = runInjection([parseSource('m.yaml', readFileSync(join(dir, 'merge-containers.yaml'), 'utf8'))], { mode: 'inject', profile: [], flags: [] }).files[0]!.text;
    expect((await lint([parseSource('m.yaml', injected)])).filter((f) => f.severity === 'error')).toEqual([]);
  });
});

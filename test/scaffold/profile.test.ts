/** The profile's JSON Schema, the profile text scaffold writes, the answers' rules, and the workloads: selection. */
import { SKIP } from '../../src/inject/skips.js';
import AjvModule from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runInjection } from '../../src/inject/run.js';
import { parseSelection, selects, skipUnselected } from '../../src/inject/selection.js';
import { profileText, schemaReference } from '../../src/scaffold/profile-text.js';
import { defaultFor, finalDraft, normalize, QUESTIONS, seedDraft, validateAnswer } from '../../src/scaffold/questions.js';
import { OPTIONS } from '../../src/settings/options.js';
import { parseProfile } from '../../src/settings/profile.js';
import { resolveSettings } from '../../src/settings/resolve.js';
import { PROFILE_SCHEMA_FILE, profileSchema, profileSchemaText } from '../../src/settings/schema.js';
import { load, ROOT } from '../helpers/corpus.js';

// ajv is CommonJS: its module.exports is the class itself.
const Ajv = AjvModule as unknown as typeof AjvModule.default;
const question = (key: string) => QUESTIONS.find((q) => q.key === key)!;

describe('profile JSON Schema', () => {
  it('the shipped file is the one generated from the option table', () => {
    const shipped = readFileSync(join(ROOT, PROFILE_SCHEMA_FILE), 'utf8');
    // Stale? Regenerate: npx tsc -p tsconfig.build.json && node scripts/profile-schema.mjs
    expect(shipped).toBe(profileSchemaText());
  });

  it('has every option, accepts what scaffold writes, rejects unknown keys and wrong types', () => {
    const schema = profileSchema();
    expect(Object.keys(schema.properties as object)).toEqual([...OPTIONS.map((o) => o.key), 'workloads', 'lint']);
    const validate = new Ajv().compile(schema);
    const draft = { proxy: 'envoy', retries: '3', 'per-try-timeout': '250ms', 'rate-limit': '100', upstream: 'a=a.svc:80@9000, b=b:81', 'native-sidecar': 'false' };
    const written = parse(profileText({ draft, workloads: ['Deployment/shop/web'], sections: { lint: { disable: ['x'] } }, schemaRef: 'x' }));
    expect(validate(written), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ retrys: 3 })).toBe(false);
    expect(validate({ retries: 'three' })).toBe(false);
    expect(validate({ upstream: 'a=b:1' })).toBe(true); // one value is fine for a repeatable key, as in the reader
  });
});

describe('schema reference', () => {
  it('relative to the installed package when it is in the project', () => {
    expect(schemaReference('/p/.sidecarctl.yaml', '/p/node_modules/sidecarctl', '1.2.3')).toBe('./node_modules/sidecarctl/schemas/profile.schema.json');
    expect(schemaReference('/p/apps/web/.sidecarctl.yaml', '/p/node_modules/sidecarctl', '1.2.3')).toBe('../../node_modules/sidecarctl/schemas/profile.schema.json');
  });

  it('the versioned URL for a global install or a source checkout', () => {
    expect(schemaReference('/home/me/app/.sidecarctl.yaml', '/usr/lib/node_modules/sidecarctl', '1.2.3')).toBe('https://unpkg.com/sidecarctl@1.2.3/schemas/profile.schema.json');
    expect(schemaReference('/tmp/x/.sidecarctl.yaml', '/src/sidecarctl', '0.1.0')).toBe('https://unpkg.com/sidecarctl@0.1.0/schemas/profile.schema.json');
  });
});

describe('answers', () => {
  it('defaults come from the table, then from the profile and flags', () => {
    expect(defaultFor(question('proxy'), {})).toBe('envoy');
    expect(defaultFor(question('log-path'), {})).toBe('/var/log/app/*.log');
    expect(defaultFor(question('rate-limit'), {})).toBe('');
    const seeded = seedDraft([
      [{ key: 'retries', value: 2 }, { key: 'upstream', value: 'a=a:1' }, { key: 'upstream', value: 'b=b:2' }],
      [{ key: 'retries', value: '5', flag: '--retries' }],
    ]);
    expect(seeded).toEqual({ retries: '5', upstream: 'a=a:1, b=b:2' });
    expect(defaultFor(question('retries'), seeded)).toBe('5');
  });

  it("validation is the option's own, message included", () => {
    expect(validateAnswer(question('retries'), '11', {})).toBe('11 retries is too many (at most 10)');
    expect(validateAnswer(question('per-try-timeout'), 'soon', {})).toMatch(/soon/);
    expect(validateAnswer(question('per-try-timeout'), 'none', {})).toBe(true);
    expect(validateAnswer(question('retries'), '', {})).toBe('an answer is needed');
    expect(validateAnswer(question('upstream'), 'a=a:1, a=b:2', {})).toBe('upstream "a" is given twice');
    expect(validateAnswer(question('upstream'), 'db=db:5432@15000', {})).toMatch(/which is the admin port/);
    expect(validateAnswer(question('upstream'), 'db=db:5432@15000', { 'admin-port': '15001' })).toBe(true);
  });

  it('"none" clears an optional answer; lists are normalized', () => {
    expect(normalize(question('rate-limit'), ' none ')).toBe('');
    expect(normalize(question('upstream'), 'a=a:1,b=b:2,')).toBe('a=a:1, b=b:2');
  });

  it('answers of questions not asked are dropped; keys no question covers are kept', () => {
    const draft = { proxy: 'envoy', mtls: 'off', 'mtls-issuer': 'old-ca', logging: 'none', 'log-path': '/x/*.log', 'admin-port': '15500' };
    expect(finalDraft(draft)).toEqual({ proxy: 'envoy', mtls: 'off', logging: 'none', 'admin-port': '15500' });
  });

  it('the profile text reads back as the same settings, in the schema types', () => {
    const draft = { proxy: 'envoy', retries: '3', 'per-try-timeout': '250ms', upstream: 'a=a.svc:80@9000, b=b:81', 'native-sidecar': 'false' };
    const text = profileText({ draft, schemaRef: 'https://example/s.json' });
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=https://example/s.json');
    expect(parse(text)).toEqual({ proxy: 'envoy', retries: 3, 'per-try-timeout': '250ms', upstream: ['a=a.svc:80@9000', 'b=b:81'], 'native-sidecar': false });
    const settings = resolveSettings([parseProfile('p', text).layer]);
    expect(settings).toMatchObject({ retries: 3, perTryTimeoutMs: 250, nativeSidecar: false });
    expect(settings.upstreams.map((u) => u.localPort)).toEqual([9000, 81]);
  });
});

describe('workloads: selection', () => {
  const ref = { kind: 'Deployment', name: 'web', namespace: 'shop' };

  it('names a workload as the report does, without namespace, or by name', () => {
    expect(['Deployment/shop/web', 'Deployment/web', 'web'].every((e) => selects(e, ref))).toBe(true);
    expect(['Deployment/prod/web', 'StatefulSet/web', 'we'].some((e) => selects(e, ref))).toBe(false);
  });

  it('a malformed section is bad input naming the profile', () => {
    expect(parseSelection(undefined, 'p')).toBeUndefined();
    expect(() => parseSelection('web', 'p.yaml')).toThrow(/workloads: expects a non-empty list/);
    expect(() => parseSelection([], 'p.yaml')).toThrow(/non-empty list/);
  });

  it('workloads not listed are skipped with the reason, the others injected', () => {
    const sources = [load(join(ROOT, 'fixtures/web.yaml')), load(join(ROOT, 'fixtures/report-cronjob.yaml'))];
    const skip = skipUnselected(['CronJob/nightly-report'], 'p.yaml');
    const result = runInjection(sources, { mode: 'inject', profile: [{ key: 'upstream', value: 'a=a:80' }], flags: [], skip });
    expect(result.reports.map((r) => [r.object, r.action, r.skip])).toEqual([
      ['Deployment/shop/web', 'skipped', SKIP.notSelected],
      ['CronJob/nightly-report', 'injected', undefined],
    ]);
    expect(result.files[0]!.changed).toBe(false);
  });
});

/**
 * The bundled templates render through their build-time precompiled form (dist/, made by the test
 * setup's build), and give exactly what compiling them from source gives.
 */
import Handlebars from 'handlebars';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUNDLED_TEMPLATES, renderTemplate, withHelpers } from '../src/templates.js';
import { fluentBitTemplateData } from '../src/sidecars/logging/fluent-bit.js';
import { envoyTemplateData } from '../src/sidecars/envoy/config.js';
import { workloadContext } from '../src/inject/plan.js';
import { resolveSettings } from '../src/settings/resolve.js';
import { objectsOf } from '../src/manifest/workloads.js';
import { load, ROOT } from './helpers/corpus.js';

const precompiled = createRequire(import.meta.url)(join(ROOT, 'dist/templates.precompiled.cjs')) as Record<string, { hash: string }>;

function fromSource(name: string, data: object): string {
  // The same helpers as the runtime (one list, src/templates.ts), on a fresh compiler.
  const env = withHelpers(Handlebars.create());
  const text = env.compile(readFileSync(join(BUNDLED_TEMPLATES, name), 'utf8'), { noEscape: true, strict: true })(data);
  return text.replace(/[ \t]+$/gm, '').replace(/\n{3,}/g, '\n\n').replace(/^\n+/, '').replace(/\n*$/, '\n');
}

describe('precompiled templates', () => {
  it('exist for every bundled template, built from the current source', () => {
    for (const name of ['envoy.yaml.hbs', 'fluent-bit.yaml.hbs', 'fluent.conf.hbs']) {
      const source = readFileSync(join(BUNDLED_TEMPLATES, name), 'utf8');
      expect(precompiled[name]?.hash, name).toBe(createHash('sha256').update(source).digest('hex'));
    }
  });

  it('render what the compiler renders', () => {
    const web = load(join(ROOT, 'fixtures/web.yaml'));
    const ref = web.docs.flatMap((d, i) => objectsOf(d, i)).find((r) => r.kind === 'Deployment')!;
    const settings = resolveSettings([[{ key: 'logging', value: 'fluent-bit' }, { key: 'rate-limit', value: '10' }]]);
    const ctx = workloadContext(ref, settings);
    expect(renderTemplate('envoy.yaml.hbs', envoyTemplateData(ctx))).toBe(fromSource('envoy.yaml.hbs', envoyTemplateData(ctx)));
    expect(renderTemplate('fluent-bit.yaml.hbs', fluentBitTemplateData(ctx))).toBe(fromSource('fluent-bit.yaml.hbs', fluentBitTemplateData(ctx)));
  });
});

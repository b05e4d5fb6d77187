/** `sidecarctl render <sidecar> [PATH]`: one sidecar's config file alone. */
import { UserError } from '../../errors.js';
import { workloadContext } from '../../inject/plan.js';
import { getPath } from '../../manifest/edit-ops.js';
import { isPlainObject, isWorkloadKind, objectsOf, podMetadataPath, type ObjectRef } from '../../manifest/workloads.js';
import { annotationLayer, resolveSettings } from '../../settings/resolve.js';
import type { WorkloadContext } from '../../sidecars/types.js';
import { renderEnvoyConfig } from '../../sidecars/envoy/config.js';
import { readInputs } from '../io.js';
import { flagsLayer, profileFrom } from '../settings-flags.js';
import { CONFIG_DIR } from '../../inject/plan.js';

const RENDERERS: Record<string, (ctx: WorkloadContext) => string> = {
  envoy: (ctx) => renderEnvoyConfig(ctx).text,
};

export async function renderCommand(sidecar: string, path: string | undefined, opts: Record<string, unknown>): Promise<void> {
  const render = RENDERERS[sidecar];
  if (!render) throw new UserError(`render: unknown sidecar "${sidecar}" (available: ${Object.keys(RENDERERS).join(', ')})`);
  const profile = profileFrom(opts)?.layer ?? [];
  const flags = flagsLayer(opts);
  if (!path) {
    const settings = resolveSettings([profile, flags]);
    const ctx: WorkloadContext = {
      settings, kind: 'Deployment', name: 'app', serviceAccount: 'default', podSpec: {}, appContainer: 'app',
      appPort: settings.appPort ?? 8080, configMapName: 'app-sidecarctl', configDir: CONFIG_DIR, runsToCompletion: false,
    };
    if (settings.appPort === undefined) process.stderr.write('render: no --app-port given, assuming 8080\n');
    process.stdout.write(render(ctx));
    return;
  }
  const sources = await readInputs([path]);
  const candidates = sources.flatMap((s) => s.docs.flatMap((d, i) => objectsOf(d, i))).filter((r) => isWorkloadKind(r.kind));
  const wanted = typeof opts.workload === 'string' ? candidates.find((r) => r.name === opts.workload) : candidates[0];
  if (!wanted) throw new UserError(opts.workload ? `no workload named ${String(opts.workload)}` : 'no workload found', path);
  const annotations = (meta: unknown) => (isPlainObject(meta) && isPlainObject(meta.annotations) ? meta.annotations : {});
  const layer = (ref: ObjectRef, metaPath: (string | number)[]) => annotationLayer(annotations(getPath(ref.value, metaPath)), () => ({ file: path }));
  const settings = resolveSettings([profile, layer(wanted, ['metadata']), layer(wanted, podMetadataPath(wanted.kind)), flags]);
  process.stdout.write(render(workloadContext(wanted, settings)));
}

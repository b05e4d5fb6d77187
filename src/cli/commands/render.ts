/** `sidecarctl render <sidecar> [PATH]`: one sidecar's config file alone. */
import { UserError } from '../../errors.js';
import { CONFIG_DIR, workloadContext } from '../../inject/plan.js';
import { isWorkloadKind, objectsOf } from '../../manifest/workloads.js';
import { resolveSettings } from '../../settings/resolve.js';
import { workloadSettings } from '../../inject/run.js';
import type { WorkloadContext } from '../../sidecars/types.js';
import { renderEnvoyConfig } from '../../sidecars/envoy/config.js';
import { readInputs } from '../io.js';
import { flagsLayer, profileFrom } from '../settings-flags.js';

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
  const candidates = sources.flatMap((source) => source.docs.flatMap((d, i) => objectsOf(d, i)).filter((ref) => isWorkloadKind(ref.kind)).map((ref) => ({ source, ref })));
  const wanted = typeof opts.workload === 'string' ? candidates.find((c) => c.ref.name === opts.workload) : candidates[0];
  if (!wanted) throw new UserError(opts.workload ? `no workload named ${String(opts.workload)}` : 'no workload found', path);
  const settings = workloadSettings(wanted.source, wanted.ref, { profile, flags });
  process.stdout.write(render(workloadContext(wanted.ref, settings)));
}

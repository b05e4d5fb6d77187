/** `sidecarctl render <sidecar> [PATH]`: one sidecar's config file alone. */
import { UserError } from '../../errors.js';
import { podContext, workloadContext } from '../../inject/plan.js';
import { isWorkloadKind, objectsOf } from '../../manifest/workloads.js';
import { resolveSettings } from '../../settings/resolve.js';
import { workloadSettings } from '../../inject/run.js';
import type { WorkloadContext } from '../../sidecars/types.js';
import { renderEnvoyConfig } from '../../sidecars/envoy/config.js';
import { renderFluentBitConfig } from '../../sidecars/logging/fluent-bit.js';
import { renderFluentdConfig } from '../../sidecars/logging/fluentd.js';
import { renderBundledProxyConfig } from '../../sidecars/bundled/config.js';
import type { Settings } from '../../settings/types.js';
import { readInputs } from '../io.js';
import { flagsLayer, profileFrom } from '../settings-flags.js';

/** Each sidecar's config, and the settings that select that sidecar (render fluentd means --logging fluentd). */
const RENDERERS: Record<string, { select: Partial<Settings>; render: (ctx: WorkloadContext) => string }> = {
  envoy: { select: { proxy: 'envoy' }, render: (ctx) => renderEnvoyConfig(ctx).text },
  'fluent-bit': { select: { logging: 'fluent-bit' }, render: (ctx) => renderFluentBitConfig(ctx).text },
  fluentd: { select: { logging: 'fluentd' }, render: renderFluentdConfig },
  proxy: { select: { proxy: 'bundled' }, render: renderBundledProxyConfig },
};

export async function renderCommand(sidecar: string, path: string | undefined, opts: Record<string, unknown>): Promise<void> {
  const renderer = RENDERERS[sidecar];
  if (!renderer) throw new UserError(`render: unknown sidecar "${sidecar}" (available: ${Object.keys(RENDERERS).join(', ')})`);
  const profile = profileFrom(opts)?.layer ?? [];
  const flags = flagsLayer(opts);
  if (!path) {
    const settings = { ...resolveSettings([profile, flags]), ...renderer.select };
    // No manifest: a Deployment "app" with one container port, --app-port or 8080.
    const podSpec = { containers: [{ name: 'app', ports: [{ containerPort: settings.appPort ?? 8080 }] }] };
    if (settings.appPort === undefined) process.stderr.write('render: no --app-port given, assuming 8080\n');
    process.stdout.write(renderer.render(podContext(podSpec, 'Deployment', 'app', settings)));
    return;
  }
  const sources = await readInputs([path]);
  const candidates = sources.flatMap((source) => source.docs.flatMap((d, i) => objectsOf(d, i)).filter((ref) => isWorkloadKind(ref.kind)).map((ref) => ({ source, ref })));
  const wanted = typeof opts.workload === 'string' ? candidates.find((c) => c.ref.name === opts.workload) : candidates[0];
  if (!wanted) throw new UserError(opts.workload ? `no workload named ${String(opts.workload)}` : 'no workload found', path);
  const settings = { ...workloadSettings(wanted.source, wanted.ref, { profile, flags }), ...renderer.select };
  process.stdout.write(renderer.render(workloadContext(wanted.ref, settings)));
}

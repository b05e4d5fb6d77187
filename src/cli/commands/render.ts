/** `sidecarctl render <sidecar> [PATH]`: one sidecar's config file alone. */
import { UserError } from '../../errors.js';
import { podContext, workloadContext } from '../../inject/plan.js';
import { isWorkloadKind, objectsOf } from '../../manifest/workloads.js';
import { resolveSettings } from '../../settings/resolve.js';
import { workloadSettings } from '../../inject/run.js';
import { SIDECAR_KINDS, sidecarKind } from '../../sidecars/registry.js';
import { readInputs } from '../io.js';
import { flagsLayer, profileFrom } from '../settings-flags.js';


export async function renderCommand(sidecar: string, path: string | undefined, opts: Record<string, unknown>): Promise<void> {
  const renderer = sidecarKind(sidecar);
  if (!renderer) throw new UserError(`render: unknown sidecar "${sidecar}" (available: ${SIDECAR_KINDS.map((k) => k.id).join(', ')})`);
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

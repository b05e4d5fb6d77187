/** The log shipper sidecar (Fluent Bit or Fluentd): shared volumes, the agent's container and config. */
import { UserError } from '../../errors.js';
import { emptyContribution, type SidecarContribution, type WorkloadContext } from '../types.js';
import { FLUENT_BIT_CONFIG_FILE, FLUENT_BIT_HTTP_PORT, fluentBitContainer, renderFluentBitConfig } from './fluent-bit.js';
import { FLUENTD_CONFIG_FILE, FLUENTD_MONITOR_PORT, fluentdContainer, fluentdRuntime, fluentdVolumes, renderFluentdConfig } from './fluentd.js';
import { logDirectory } from '../../settings/log-path.js';
import { LOG_VOLUME, logVolumes, proxyLogInput } from './shared.js';

export { LOG_VOLUME } from './shared.js';

function describeOutput(ctx: WorkloadContext): string {
  const out = ctx.settings.logOutput;
  return out.kind === 'stdout' ? 'stdout' : `${out.kind}://${out.host}:${out.port}`;
}

export function loggingSidecar(ctx: WorkloadContext, configVolume: string): SidecarContribution {
  const agent = ctx.settings.logging;
  if (agent === 'none') throw new UserError('internal: loggingSidecar without --logging');
  const out = emptyContribution();
  const logDir = logDirectory(ctx.settings.logPath);
  out.volumes.push(...logVolumes());
  out.appMounts.push({ name: LOG_VOLUME, mountPath: logDir });
  const proxied = ctx.settings.proxy !== 'none';
  if (proxied) out.ports.push(proxyLogInput(ctx).port);
  if (agent === 'fluent-bit') {
    out.configFiles[FLUENT_BIT_CONFIG_FILE] = renderFluentBitConfig(ctx).text;
    out.containers.push(fluentBitContainer(ctx, configVolume, logDir));
    out.ports.push(FLUENT_BIT_HTTP_PORT);
  } else {
    out.configFiles[FLUENTD_CONFIG_FILE] = renderFluentdConfig(ctx);
    out.containers.push(fluentdContainer(ctx, configVolume, logDir));
    out.volumes.push(...fluentdVolumes());
    out.ports.push(FLUENTD_MONITOR_PORT);
    out.notes.push(`fluentd image ${fluentdRuntime(ctx.settings.logOutput, '').image.image} (has the ${ctx.settings.logOutput.kind} output)`);
  }
  out.notes.push(`logs ${ctx.settings.logPath}${proxied ? ' and proxy access logs' : ''} -> ${describeOutput(ctx)} (${agent})`);
  return out;
}

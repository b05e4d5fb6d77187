/**
 * What both log shippers share: where the app's logs live, the volumes that carry them, the pod
 * metadata every record gets, and the input that takes the proxy's access logs.
 */
import type { LogOutput, Settings } from '../../settings/types.js';
import { PROXY_CONTAINER } from '../bundled/container.js';
import { ENVOY_CONTAINER } from '../envoy/container.js';
import type { Json, WorkloadContext } from '../types.js';
import { PROXY_JSON_LOG_PORT, PROXY_LOG_PORT, PROXY_LOG_TAG } from './proxy-log.js';

/** Shared between the app (read-write) and the shipper (read-only). */
export const LOG_VOLUME = 'sidecarctl-logs';
/** The shipper's own state: read positions and the on-disk buffer. An emptyDir outlives container restarts. */
export const STATE_VOLUME = 'sidecarctl-log-state';
export const STATE_DIR = '/var/lib/sidecarctl';
/** Upper bound of the state volume; the shippers' buffer limits stay well below it. */
export const STATE_SIZE_LIMIT = '1Gi';
/** Tag prefix of the app's log lines. */
export const APP_LOG_TAG = 'app';

export function logVolumes(): Json[] {
  return [
    { name: LOG_VOLUME, emptyDir: {} },
    { name: STATE_VOLUME, emptyDir: { sizeLimit: STATE_SIZE_LIMIT } },
  ];
}

/** Mounts of the shipper: logs read-only, its state writable, the config read-only. */
export function shipperMounts(ctx: WorkloadContext, configVolume: string, logDir: string): Json[] {
  return [
    { name: configVolume, mountPath: ctx.configDir, readOnly: true },
    { name: LOG_VOLUME, mountPath: logDir, readOnly: true },
    { name: STATE_VOLUME, mountPath: STATE_DIR },
  ];
}

/** The pod's identity from the downward API; the configs add it to every record. */
export function metadataEnv(): Json[] {
  const field = (fieldPath: string) => ({ valueFrom: { fieldRef: { fieldPath } } });
  return [
    { name: 'POD_NAME', ...field('metadata.name') },
    { name: 'POD_NAMESPACE', ...field('metadata.namespace') },
    { name: 'NODE_NAME', ...field('spec.nodeName') },
  ];
}

/** The container that writes each record's lines: the app, or the proxy for access logs. */
export function proxyContainerName(ctx: WorkloadContext): string | null {
  if (ctx.settings.proxy === 'envoy') return ENVOY_CONTAINER;
  if (ctx.settings.proxy === 'bundled') return PROXY_CONTAINER;
  return null;
}

/** How the workload's proxy hands its access logs to the shipper. */
export function proxyLogInput(ctx: WorkloadContext): { protocol: 'forward' | 'json'; port: number } {
  return ctx.settings.proxy === 'bundled' ? { protocol: 'json', port: PROXY_JSON_LOG_PORT } : { protocol: 'forward', port: PROXY_LOG_PORT };
}

/** Template data both shippers' templates read. */
export interface LoggingTemplateData {
  logPath: string;
  /** A language whose stack traces become one record, or null. */
  multiline: Exclude<Settings['logMultiline'], 'none'> | null;
  stateDir: string;
  appTag: string;
  workload: string;
  appContainer: string;
  /** The input for the proxy's access logs, when a proxy is injected: Forward (Envoy) or JSON lines (bundled). */
  proxyLogs: { protocol: 'forward' | 'json'; port: number; tag: string; container: string } | null;
  output: { kind: LogOutput['kind']; host: string | null; port: number | null };
}

export function loggingTemplateData(ctx: WorkloadContext): LoggingTemplateData {
  const proxy = proxyContainerName(ctx);
  const out = ctx.settings.logOutput;
  return {
    logPath: ctx.settings.logPath,
    multiline: ctx.settings.logMultiline === 'none' ? null : ctx.settings.logMultiline,
    stateDir: STATE_DIR,
    appTag: APP_LOG_TAG,
    workload: ctx.name,
    appContainer: ctx.appContainer,
    proxyLogs: proxy ? { ...proxyLogInput(ctx), tag: PROXY_LOG_TAG, container: proxy } : null,
    output: out.kind === 'stdout' ? { kind: 'stdout', host: null, port: null } : { kind: out.kind, host: out.host, port: out.port },
  };
}

export const MiB = 1024 * 1024;

/**
 * A shipper's container memory limit from the bytes its own settings let it hold: 50% headroom for
 * what they do not bound, rounded up to a 32 MiB step, as a `128Mi`-style quantity.
 */
export function memoryLimit(boundedBytes: number): string {
  const step = 32 * MiB;
  return `${(Math.ceil((boundedBytes * 1.5) / step) * step) / MiB}Mi`;
}

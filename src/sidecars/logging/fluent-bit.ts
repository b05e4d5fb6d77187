/** The Fluent Bit sidecar: its container and its YAML config (templates/fluent-bit.yaml.hbs). */
import { renderYamlTemplate } from '../../templates.js';
import { FLUENT_BIT_IMAGE } from '../../validate/fluentbit.js';
import { drainSeconds, hardenedSecurityContext } from '../hardening.js';
import type { Json, WorkloadContext } from '../types.js';
import { loggingTemplateData, memoryLimit, metadataEnv, MiB, shipperMounts, STATE_DIR, type LoggingTemplateData } from './shared.js';

export const FLUENT_BIT_CONFIG_FILE = 'fluent-bit.yaml';
export const FLUENT_BIT_TEMPLATE = 'fluent-bit.yaml.hbs';
export const FLUENT_BIT_CONTAINER = 'sidecarctl-fluent-bit';
/** Fluent Bit's HTTP server: /api/v1/health, /api/v2/metrics/prometheus. */
export const FLUENT_BIT_HTTP_PORT = 2020;
/** The image has no USER (it would run as root); distroless images know 65532 as "nonroot". */
const FLUENT_BIT_UID = 65532;

/** Fluent Bit's own chunk size: about 2 MB of records each. */
const CHUNK_BYTES = 2 * MiB;

/** The knobs that bound Fluent Bit's memory and disk, and the container limit sized from them. */
export const FLUENT_BIT_LIMITS = {
  /** Chunks held in memory at once, across inputs; the rest waits on disk. */
  maxChunksUp: 16,
  backlogMemLimit: '8M',
  backlogBytes: 8 * MiB,
  /** Longest line kept (longer ones are skipped); also the per-file read buffer. */
  maxLineSize: '1MB',
  maxLineBytes: 1 * MiB,
  /** What the output may keep queued on disk while its destination is down. */
  totalLimitSize: '256M',
  /** The process itself: code, TLS, the tail database. */
  baseBytes: 24 * MiB,
};

/** Memory limit: everything the limits above let Fluent Bit hold (see memoryLimit). */
export function fluentBitMemoryLimit(limits = FLUENT_BIT_LIMITS): string {
  return memoryLimit(limits.baseBytes + limits.maxChunksUp * CHUNK_BYTES + limits.backlogBytes + 4 * limits.maxLineBytes);
}

export interface FluentBitTemplateData extends LoggingTemplateData {
  grace: number;
  httpPort: number;
  storagePath: string;
  tailDb: string;
  limits: typeof FLUENT_BIT_LIMITS;
}

export function fluentBitTemplateData(ctx: WorkloadContext): FluentBitTemplateData {
  return {
    ...loggingTemplateData(ctx),
    // Time to read the app's last lines and flush them after SIGTERM, within the drain budget.
    grace: Math.min(10, drainSeconds(ctx.podSpec)),
    httpPort: FLUENT_BIT_HTTP_PORT,
    storagePath: `${STATE_DIR}/fluent-bit/storage`,
    tailDb: `${STATE_DIR}/fluent-bit/tail.db`,
    limits: FLUENT_BIT_LIMITS,
  };
}

export function renderFluentBitConfig(ctx: WorkloadContext): { text: string; value: unknown } {
  return renderYamlTemplate(FLUENT_BIT_TEMPLATE, fluentBitTemplateData(ctx), ctx.settings.templates);
}

export function fluentBitContainer(ctx: WorkloadContext, configVolume: string, logDir: string): Json {
  return {
    name: FLUENT_BIT_CONTAINER,
    image: FLUENT_BIT_IMAGE,
    imagePullPolicy: 'IfNotPresent',
    command: ['/fluent-bit/bin/fluent-bit'],
    args: ['--config', `${ctx.configDir}/${FLUENT_BIT_CONFIG_FILE}`],
    env: metadataEnv(),
    ports: [{ name: 'fluentbit-http', containerPort: FLUENT_BIT_HTTP_PORT, protocol: 'TCP' }],
    resources: {
      requests: { cpu: '50m', memory: '32Mi' },
      limits: { cpu: '500m', memory: fluentBitMemoryLimit() },
    },
    securityContext: hardenedSecurityContext(FLUENT_BIT_UID),
    // The app starts once the shipper answers, so no line is written before it tails.
    startupProbe: { httpGet: { path: '/', port: FLUENT_BIT_HTTP_PORT }, periodSeconds: 1, failureThreshold: 30 },
    volumeMounts: shipperMounts(ctx, configVolume, logDir),
  };
}

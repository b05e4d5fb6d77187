/** The Envoy bootstrap (envoy.yaml) of one workload: template data from settings, then the template. */
import { renderYamlTemplate } from '../../templates.js';
import { protoDuration } from '../../units.js';
import type { Settings, Upstream } from '../../settings/types.js';
import type { WorkloadContext } from '../types.js';

export const ENVOY_CONFIG_FILE = 'envoy.yaml';
export const ENVOY_TEMPLATE = 'envoy.yaml.hbs';
/** Prometheus scrapes this port (the admin port stays on 127.0.0.1). */
export const ENVOY_METRICS_PORT = 15090;
export const ENVOY_MEMORY_LIMIT_BYTES = 256 * 1024 * 1024;

interface RetryData {
  retryOn: string;
  numRetries: number;
  perTryTimeout: string | null;
}

interface RouteData {
  timeout: string;
  retry: RetryData | null;
}

export interface EnvoyTemplateData {
  node: { id: string; cluster: string };
  adminPort: number;
  metricsPort: number;
  maxHeapBytes: number;
  inbound: (RouteData & { port: number; appPort: number; rateLimit: TokenBucket | null }) | null;
  upstreams: (RouteData & Upstream)[];
}

export interface TokenBucket {
  maxTokens: number;
  tokensPerFill: number;
  fillInterval: string;
}

/**
 * A token bucket refilled smoothly: the shortest fill interval (Envoy's minimum is 50ms) that adds a
 * whole number of tokens, so 100 rps becomes 5 tokens every 50ms rather than 100 at each second.
 */
export function tokenBucket(rps: number, burst: number): TokenBucket {
  for (const ms of [50, 100, 200, 250, 500]) {
    const tokens = (rps * ms) / 1000;
    if (Number.isInteger(tokens) && tokens >= 1) return { maxTokens: burst, tokensPerFill: tokens, fillInterval: protoDuration(ms) };
  }
  return { maxTokens: burst, tokensPerFill: rps, fillInterval: '1s' };
}

function routeData(s: Settings): RouteData {
  return {
    // "0s" disables Envoy's 15s default: no timeout unless the user asks for one.
    timeout: s.timeoutMs ? protoDuration(s.timeoutMs) : '0s',
    retry:
      s.retries > 0
        ? { retryOn: s.retryOn.join(','), numRetries: s.retries, perTryTimeout: s.perTryTimeoutMs ? protoDuration(s.perTryTimeoutMs) : null }
        : null,
  };
}

export function envoyTemplateData(ctx: WorkloadContext): EnvoyTemplateData {
  const s = ctx.settings;
  const route = routeData(s);
  return {
    node: { id: [ctx.namespace, ctx.name].filter(Boolean).join('.'), cluster: ctx.name },
    adminPort: s.adminPort,
    metricsPort: ENVOY_METRICS_PORT,
    // Leave room under the container memory limit for what the heap monitor does not see.
    maxHeapBytes: Math.floor(ENVOY_MEMORY_LIMIT_BYTES * 0.8),
    inbound:
      ctx.appPort === undefined
        ? null
        : {
            ...route,
            port: s.proxyPort,
            appPort: ctx.appPort,
            rateLimit: s.rateLimit ? tokenBucket(s.rateLimit, s.burst ?? s.rateLimit) : null,
          },
    upstreams: s.upstreams.map((u) => ({ ...u, ...route })),
  };
}

export function renderEnvoyConfig(ctx: WorkloadContext): { text: string; value: unknown } {
  return renderYamlTemplate(ENVOY_TEMPLATE, envoyTemplateData(ctx), ctx.settings.templates);
}

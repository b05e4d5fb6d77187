/** The Envoy sidecar container. */
import { hardenedSecurityContext } from '../hardening.js';
import type { Json, WorkloadContext } from '../types.js';
import { ENVOY_CONFIG_FILE, ENVOY_METRICS_PORT } from './config.js';

/** A pinned release, never `latest`: the same manifest must give the same pod tomorrow. */
export const ENVOY_IMAGE = 'envoyproxy/envoy:v1.38.7';
export const ENVOY_CONTAINER = 'sidecarctl-envoy';
/** The `envoy` user the official image creates. */
const ENVOY_UID = 101;

/**
 * preStop: fail health checks (readiness goes 503, endpoints drop the pod) and drain inbound listeners
 * gracefully, then wait out the drain. Envoy does none of this on SIGTERM by itself. The image has bash
 * but no curl, so the admin API is called over bash's /dev/tcp.
 */
export function drainCommand(adminPort: number, seconds: number): string[] {
  const post = (path: string) =>
    `exec 3<>/dev/tcp/127.0.0.1/${adminPort} && printf 'POST ${path} HTTP/1.1\\r\\nHost: localhost\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n' >&3 && cat <&3 >/dev/null; exec 3>&-`;
  return ['/bin/bash', '-c', `${post('/healthcheck/fail')}; ${post('/drain_listeners?graceful&inboundonly')}; sleep ${seconds}`];
}

/** `extraMounts`: e.g. the mTLS certificate Secret, which only the proxy may read. */
import { listenerPortEntries } from '../../model/ports.js';

export function envoyContainer(ctx: WorkloadContext, drain: number, configDir: string, configVolume: string, extraMounts: Json[] = []): Json {
  const s = ctx.settings;
  const ports: Json[] = listenerPortEntries(ctx.ports, 'envoy');
  ports.push({ name: 'envoy-metrics', containerPort: ENVOY_METRICS_PORT, protocol: 'TCP' });
  const ready = { httpGet: { path: '/ready', port: ENVOY_METRICS_PORT } };
  return {
    name: ENVOY_CONTAINER,
    image: ENVOY_IMAGE,
    imagePullPolicy: 'IfNotPresent',
    command: ['/usr/local/bin/envoy'],
    args: [
      '--config-path', `${configDir}/${ENVOY_CONFIG_FILE}`,
      '--log-level', 'warn',
      // Hot restart needs shared memory and a writable filesystem; a sidecar never hot-restarts.
      '--disable-hot-restart',
      '--drain-time-s', String(drain),
      '--drain-strategy', 'immediate',
    ],
    ports,
    resources: {
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '1', memory: '256Mi' },
    },
    securityContext: hardenedSecurityContext(ENVOY_UID),
    readinessProbe: { ...ready, periodSeconds: 5, failureThreshold: 3 },
    startupProbe: { ...ready, periodSeconds: 1, failureThreshold: 60 },
    lifecycle: { preStop: { exec: { command: drainCommand(s.adminPort, drain) } } },
    volumeMounts: [{ name: configVolume, mountPath: configDir, readOnly: true }, ...extraMounts],
  };
}

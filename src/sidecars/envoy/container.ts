/** The Envoy sidecar container. */
import { hardenedSecurityContext } from '../hardening.js';
import type { Json, WorkloadContext } from '../types.js';
import { ENVOY_CONFIG_FILE, ENVOY_METRICS_PORT } from './config.js';
import { POD_IP_ENV, POD_IP_HOST } from '../../network/addresses.js';

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

/** The pod IP from the downward API, for a proxy that dials an app bound to it. */
export function podIpEnv(): Json {
  return { name: POD_IP_ENV, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } };
}

/**
 * An app bound to the pod IP: Envoy cannot read an environment variable in its bootstrap, so bash
 * (in the image; no file is written, the root filesystem stays read-only) reads the config, puts
 * the pod IP in place of the placeholder name, and hands it to Envoy as --config-yaml.
 */
function podIpLaunch(configPath: string): Json {
  // `$$(` is how a container's command escapes `$(`, which the kubelet would otherwise expand.
  const script = `config=$$(<${configPath}) && exec /usr/local/bin/envoy --config-yaml "\${config//${POD_IP_HOST}/$${POD_IP_ENV}}" "$@"`;
  return { command: ['/bin/bash', '-c', script, 'envoy'] };
}

/** `extraMounts`: e.g. the mTLS certificate Secret, which only the proxy may read. */
import { listenerPortEntries } from '../../model/ports.js';

export function envoyContainer(ctx: WorkloadContext, drain: number, configDir: string, configVolume: string, extraMounts: Json[] = []): Json {
  const s = ctx.settings;
  const ports: Json[] = listenerPortEntries(ctx.ports, 'envoy');
  ports.push({ name: 'envoy-metrics', containerPort: ENVOY_METRICS_PORT, protocol: 'TCP' });
  const ready = { httpGet: { path: '/ready', port: ENVOY_METRICS_PORT } };
  const configPath = `${configDir}/${ENVOY_CONFIG_FILE}`;
  const podIp = s.appAddress === 'pod-ip';
  return {
    name: ENVOY_CONTAINER,
    image: ENVOY_IMAGE,
    imagePullPolicy: 'IfNotPresent',
    ...(podIp ? podIpLaunch(configPath) : { command: ['/usr/local/bin/envoy'] }),
    args: [
      ...(podIp ? [] : ['--config-path', configPath]),
      '--log-level', 'warn',
      // Hot restart needs shared memory and a writable filesystem; a sidecar never hot-restarts.
      '--disable-hot-restart',
      '--drain-time-s', String(drain),
      '--drain-strategy', 'immediate',
    ],
    ports,
    ...(podIp ? { env: [podIpEnv()] } : {}),
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

/**
 * The bundled proxy's container: by default the official Node.js image running the proxy's
 * single-file bundle from the workload's ConfigMap, so no image has to be built or pushed;
 * with --proxy-image, an image built from Dockerfile.proxy (the bundle inside, same command line).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../errors.js';
import { PACKAGE_ROOT } from '../../package-root.js';
import { drainSeconds, hardenedSecurityContext } from '../hardening.js';
import type { Json, WorkloadContext } from '../types.js';
import { PROXY_CONFIG_FILE } from './config.js';
import { listenerPortEntries } from '../../model/ports.js';

/**
 * Official Node.js image, pinned. Node 24 is the LTS line (Node 20 reached end of life in April
 * 2026); the bundle targets Node >= 20 and needs nothing but node itself.
 */
export const NODE_IMAGE = 'node:24.21.0-alpine';
export const PROXY_CONTAINER = 'sidecarctl-proxy';
export const BUNDLE_FILE = 'proxy-bundle.mjs';
/** The `node` user of the official image. */
const NODE_UID = 1000;

/**
 * V8 flags, the same as Dockerfile.proxy's ENTRYPOINT (a test keeps them equal; bench/proxy.js reads
 * them from there): a 2 MB young generation and one V8 worker thread keep RSS low under load, and
 * a heap cap below the container limit makes V8 collect before the kernel kills.
 */
export const NODE_FLAGS = ['--max-semi-space-size=2', '--v8-pool-size=1', '--max-old-space-size=96'];

/** dist/proxy-bundle.mjs of this package (the build makes it; from src/ and dist/ alike). */
const BUNDLE_PATH = join(PACKAGE_ROOT, 'dist', BUNDLE_FILE);

let bundleText: string | undefined;
export function proxyBundle(): string {
  if (bundleText === undefined) {
    if (!existsSync(BUNDLE_PATH)) throw new UserError(`the bundled proxy is missing (${BUNDLE_PATH}): run npm run build`);
    bundleText = readFileSync(BUNDLE_PATH, 'utf8');
  }
  return bundleText;
}

/**
 * Seconds the preStop waits before the kubelet's SIGTERM: the pod is already out of the Service's
 * ready endpoints (it is terminating), and kube-proxies and ingress controllers need a moment to
 * learn it; until then new connections still arrive and are served. Then SIGTERM: /ready turns
 * 503, the listeners stop accepting, and in-flight requests finish within drainTimeoutMs. Both
 * waits together stay within the grace period (drainSeconds is at most half of it).
 */
export function preStopSeconds(drain: number): number {
  return Math.min(5, Math.ceil(drain / 3));
}

export function proxyContainer(ctx: WorkloadContext, configVolume: string): Json {
  const s = ctx.settings;
  const config = `${ctx.configDir}/${PROXY_CONFIG_FILE}`;
  const ports: Json[] = listenerPortEntries(ctx.ports, 'proxy');
  ports.push({ name: 'proxy-admin', containerPort: s.adminPort, protocol: 'TCP' });
  const probe = (path: string) => ({ httpGet: { path, port: s.adminPort } });
  return {
    name: PROXY_CONTAINER,
    image: s.proxyImage ?? NODE_IMAGE,
    imagePullPolicy: 'IfNotPresent',
    ...(s.proxyImage
      ? { args: ['--config', config] }
      : { command: ['node', ...NODE_FLAGS, `${ctx.configDir}/${BUNDLE_FILE}`], args: ['--config', config] }),
    ports,
    resources: {
      requests: { cpu: '50m', memory: '64Mi' },
      limits: { cpu: '1', memory: '128Mi' },
    },
    securityContext: hardenedSecurityContext(NODE_UID),
    readinessProbe: { ...probe('/ready'), periodSeconds: 5, failureThreshold: 3 },
    livenessProbe: { ...probe('/live'), periodSeconds: 10, failureThreshold: 3 },
    startupProbe: { ...probe('/ready'), periodSeconds: 1, failureThreshold: 30 },
    // The node image has a shell's sleep (as the image built from Dockerfile.proxy does).
    lifecycle: { preStop: { exec: { command: ['sleep', String(preStopSeconds(drainSeconds(ctx.podSpec)))] } } },
    volumeMounts: [{ name: configVolume, mountPath: ctx.configDir, readOnly: true }],
  };
}

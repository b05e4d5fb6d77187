/** Every lint rule, in the order of the README table. One module per rule under ./rules. */
import type { Rule } from './types.js';
import { k8sSchema } from './rules/k8s-schema.js';
import { envoyConfig } from './rules/envoy-config.js';
import { fluentBitConfig } from './rules/fluent-bit-config.js';
import { fluentdConfig } from './rules/fluentd-config.js';
import { proxyConfig } from './rules/proxy-config.js';
import { sidecarResources } from './rules/sidecar-resources.js';
import { imageTagRule } from './rules/image-tag.js';
import { sidecarHardening } from './rules/sidecar-hardening.js';
import { portCollision } from './rules/port-collision.js';
import { probePort } from './rules/probe-port.js';
import { volumeMounts } from './rules/volume-mounts.js';
import { missingReference } from './rules/missing-reference.js';
import { serviceBypass } from './rules/service-bypass.js';
import { portBypass } from './rules/port-bypass.js';
import { protocolMismatch } from './rules/protocol-mismatch.js';
import { policyBlocksProxy } from './rules/policy-blocks-proxy.js';
import { openAppPort } from './rules/open-app-port.js';
import { publicStrict } from './rules/public-strict.js';
import { configHashRule } from './rules/config-hash.js';
import { injectDrift } from './rules/inject-drift.js';
import { initContainerProbes } from './rules/init-container-probes.js';
import { retryTimeout } from './rules/retry-timeout.js';
import { rateLimitBurst } from './rules/rate-limit-burst.js';
import { mtlsCertSource } from './rules/mtls-cert-source.js';
import { jobSidecar } from './rules/job-sidecar.js';
import { sidecarSettings } from './rules/sidecar-settings.js';

export const RULES: readonly Rule[] = [
  k8sSchema,
  envoyConfig,
  fluentBitConfig,
  fluentdConfig,
  proxyConfig,
  sidecarResources,
  imageTagRule,
  sidecarHardening,
  portCollision,
  probePort,
  volumeMounts,
  missingReference,
  serviceBypass,
  portBypass,
  protocolMismatch,
  policyBlocksProxy,
  openAppPort,
  publicStrict,
  configHashRule,
  injectDrift,
  initContainerProbes,
  retryTimeout,
  rateLimitBurst,
  mtlsCertSource,
  jobSidecar,
  sidecarSettings,
];

export const RULE_IDS = RULES.map((r) => r.id);

/**
 * The sidecar kinds, in one place. Each says which setting selects it, what it adds to a pod, its
 * config file for `render`, and how lint recognises it (its container name, the images it runs,
 * the ConfigMap keys of its config). inject, render and lint read this list; adding a kind is an
 * entry here, its module under src/sidecars/, and its tests.
 *
 * Order matters: the log shippers come first, so that as native sidecars they are up before a
 * proxy sends them access logs.
 */
import type { Settings } from '../settings/types.js';
import { PROXY_CONFIG_FILE, renderBundledProxyConfig } from './bundled/config.js';
import { PROXY_CONTAINER } from './bundled/container.js';
import { bundledProxySidecar } from './bundled/index.js';
import { ENVOY_CONFIG_FILE, renderEnvoyConfig, SDS_CA_FILE, SDS_CERT_FILE } from './envoy/config.js';
import { ENVOY_CONTAINER } from './envoy/container.js';
import { envoySidecar } from './envoy/index.js';
import { FLUENT_BIT_CONFIG_FILE, FLUENT_BIT_CONTAINER, renderFluentBitConfig } from './logging/fluent-bit.js';
import { FLUENTD_CONFIG_FILE, FLUENTD_CONTAINER, renderFluentdConfig } from './logging/fluentd.js';
import { loggingSidecar } from './logging/index.js';
import type { SidecarContribution, WorkloadContext } from './types.js';

export type SidecarKindId = 'fluent-bit' | 'fluentd' | 'envoy' | 'proxy';

export interface SidecarKind {
  /** The name `sidecarctl render` takes, and lint's name for its config. */
  id: SidecarKindId;
  role: 'proxy' | 'log-shipper';
  /** The settings that select it (render fluentd means --logging fluentd). */
  select: Partial<Settings>;
  selected(settings: Settings): boolean;
  /** The container inject adds. */
  container: string;
  /** Images that run it, hand-written sidecars included (lint tells sidecars from apps by them). */
  images: RegExp[];
  /** ConfigMap data keys that hold its config: inject's own name, and common hand-written ones. */
  configKey(key: string): boolean;
  /** What it adds to the pod. */
  contribute(ctx: WorkloadContext, configVolume: string): SidecarContribution;
  /** Its config file alone. */
  render(ctx: WorkloadContext): string;
}

export const SIDECAR_KINDS: readonly SidecarKind[] = [
  {
    id: 'fluent-bit',
    role: 'log-shipper',
    select: { logging: 'fluent-bit' },
    selected: (s) => s.logging === 'fluent-bit',
    container: FLUENT_BIT_CONTAINER,
    images: [/(^|\/)fluent-bit(:|@|$)/],
    configKey: (key) => key === FLUENT_BIT_CONFIG_FILE || /^fluent-?bit[\w.-]*\.ya?ml$/i.test(key),
    contribute: loggingSidecar,
    render: (ctx) => renderFluentBitConfig(ctx).text,
  },
  {
    id: 'fluentd',
    role: 'log-shipper',
    select: { logging: 'fluentd' },
    selected: (s) => s.logging === 'fluentd',
    container: FLUENTD_CONTAINER,
    images: [/(^|\/)fluentd(:|@|$)/],
    configKey: (key) => key === FLUENTD_CONFIG_FILE || /^fluentd[\w.-]*\.conf$/i.test(key),
    contribute: loggingSidecar,
    render: renderFluentdConfig,
  },
  {
    id: 'envoy',
    role: 'proxy',
    select: { proxy: 'envoy' },
    selected: (s) => s.proxy === 'envoy',
    container: ENVOY_CONTAINER,
    images: [/(^|\/)envoyproxy\/envoy(-[a-z]+)?(:|@|$)/],
    // Envoy's file-based SDS resources are DiscoveryResponses, not bootstraps.
    configKey: (key) => key !== SDS_CERT_FILE && key !== SDS_CA_FILE && (key === ENVOY_CONFIG_FILE || /^envoy[\w.-]*\.(ya?ml|json)$/i.test(key)),
    contribute: envoySidecar,
    render: (ctx) => renderEnvoyConfig(ctx).text,
  },
  {
    id: 'proxy',
    role: 'proxy',
    select: { proxy: 'bundled' },
    selected: (s) => s.proxy === 'bundled',
    container: PROXY_CONTAINER,
    // The official node image runs many things: only the container name tells it is ours.
    images: [],
    configKey: (key) => key === PROXY_CONFIG_FILE,
    contribute: bundledProxySidecar,
    render: renderBundledProxyConfig,
  },
];

export function sidecarKind(id: string): SidecarKind | undefined {
  return SIDECAR_KINDS.find((k) => k.id === id);
}

/** The kinds these settings inject, in pod order. */
export function selectedKinds(settings: Settings): SidecarKind[] {
  return SIDECAR_KINDS.filter((k) => k.selected(settings));
}

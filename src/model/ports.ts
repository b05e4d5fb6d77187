/**
 * Every port of a pod, what it speaks, and where the proxy takes it: the per-port half of the
 * workload model that inject, render and lint share.
 *
 * App ports are the containerPorts of every app container (`spec.containers`; sidecars of ours are
 * gone by the time this runs, since inject always uninjects first). Each TCP port is proxied on a
 * listener port of its own, unless the user skips it, the proxy cannot carry its protocol, or
 * `app-port` limits the proxy to one port. UDP and SCTP ports are never proxied. Every decision is
 * kept with its reason, for the report.
 */
import { isPlainObject } from '../manifest/workloads.js';
import type { ProxyKind, Settings } from '../settings/types.js';
import { isHttpProtocol, resolveProtocol, type ProtocolSource, type ResolvedProtocol } from './protocols.js';

type Json = Record<string, unknown>;
export type L4Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface AppPort {
  port: number;
  l4: L4Protocol;
  /** The container that declares it (the first one, when several do). */
  container: string;
  /** The containerPort's name, if it has one. */
  name?: string;
}

/** A Service port, as far as it matters for routing: where it sends traffic, and its hints. */
export interface ServicePortFacts {
  service: string;
  name?: string;
  appProtocol?: string;
  l4: L4Protocol;
  /** targetPort (or port), as written: a number or a containerPort name. */
  target: number | string;
}

export interface PortPlan extends AppPort {
  protocol: ResolvedProtocol;
  source: ProtocolSource;
  /** The proxy's listener for this port, when proxied. */
  listener?: number;
  /** Why it is left alone, when it is. */
  notProxied?: string;
  /** Why the internet reaches it (a LoadBalancer/NodePort Service, externalIPs, an Ingress backend), when it does. */
  public?: string;
  /** A Service reaching it is IPv6 or dual-stack: its listener binds :: (IPv4 too). */
  ipv6?: true;
}

function l4Of(value: unknown): L4Protocol {
  return value === 'UDP' || value === 'SCTP' ? value : 'TCP';
}

function containersOf(spec: Json, key: 'containers' | 'initContainers'): Json[] {
  const list = spec[key];
  return Array.isArray(list) ? (list.filter(isPlainObject) as Json[]) : [];
}

function portsOf(container: Json): Json[] {
  return Array.isArray(container.ports) ? (container.ports.filter(isPlainObject) as Json[]) : [];
}

/** The app ports of a pod spec, de-duplicated by number and L4 protocol (the first wins). */
export function appPortsOf(spec: Json): AppPort[] {
  const seen = new Set<string>();
  const out: AppPort[] = [];
  for (const c of containersOf(spec, 'containers')) {
    for (const p of portsOf(c)) {
      if (typeof p.containerPort !== 'number') continue;
      const l4 = l4Of(p.protocol);
      const key = `${p.containerPort}/${l4}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ port: p.containerPort, l4, container: String(c.name), ...(typeof p.name === 'string' ? { name: p.name } : {}) });
    }
  }
  return out;
}

/** Every port number any container of the pod declares (init containers included). */
export function declaredPorts(spec: Json): Set<number> {
  const out = new Set<number>();
  for (const key of ['containers', 'initContainers'] as const) {
    for (const c of containersOf(spec, key)) for (const p of portsOf(c)) if (typeof p.containerPort === 'number') out.add(p.containerPort);
  }
  return out;
}

/** The Service ports of a Service object, with their targets. */
export function servicePortsOf(service: Json, name: string): ServicePortFacts[] {
  const spec = service.spec;
  const ports = isPlainObject(spec) && Array.isArray(spec.ports) ? spec.ports.filter(isPlainObject) : [];
  return ports.flatMap((p): ServicePortFacts[] => {
    const target = p.targetPort ?? p.port;
    if (typeof target !== 'number' && typeof target !== 'string') return [];
    return [
      {
        service: name,
        l4: l4Of(p.protocol),
        target: typeof target === 'string' && /^\d+$/.test(target) ? Number(target) : target,
        ...(typeof p.name === 'string' ? { name: p.name } : {}),
        ...(typeof p.appProtocol === 'string' ? { appProtocol: p.appProtocol } : {}),
      },
    ];
  });
}

/**
 * The app port a Service port reaches, if any: by number, or by the name of a containerPort of an
 * app container, and always of the same L4 protocol (a UDP Service port never reaches a TCP port).
 */
export function targetOf(sp: ServicePortFacts, ports: readonly AppPort[], spec: Json): AppPort | undefined {
  if (typeof sp.target === 'number') return ports.find((p) => p.port === sp.target && p.l4 === sp.l4);
  for (const c of containersOf(spec, 'containers')) {
    const named = portsOf(c).find((p) => p.name === sp.target && l4Of(p.protocol) === sp.l4);
    if (named && typeof named.containerPort === 'number') return ports.find((p) => p.port === named.containerPort && p.l4 === sp.l4);
  }
  return undefined;
}

/** What a proxy kind can carry (both detect `detect` ports per connection). */
interface ProxyAbilities {
  carries(protocol: ResolvedProtocol): boolean;
}

const PROXY_ABILITIES: Record<Exclude<ProxyKind, 'none'>, ProxyAbilities> = {
  envoy: { carries: () => true },
  // Everything, detection per connection included (HTTP by its first bytes, else raw TCP).
  bundled: { carries: (p) => p !== 'skip' },
};

/** Listener ports start at proxy-port and skip these (besides every port the pod declares). */
export interface PlanOptions {
  /** Ports the sidecars listen on besides the inbound listeners (admin, metrics, upstreams, log inputs). */
  reserved: Iterable<number>;
}

/**
 * Decides every app port: its protocol (with the source), and its listener or why it has none.
 * Listeners are numbered from `proxyPort` in ascending app-port order, skipping every port any
 * container declares and the sidecars' own ports.
 */
export function planPorts(spec: Json, services: readonly ServicePortFacts[], settings: Settings, opts: PlanOptions): PortPlan[] {
  const ports = appPortsOf(spec);
  // `app-port` may name a port no container declares (apps that do not list their ports).
  if (settings.appPort !== undefined && !ports.some((p) => p.port === settings.appPort && p.l4 === 'TCP')) {
    ports.push({ port: settings.appPort, l4: 'TCP', container: String(containersOf(spec, 'containers')[0]?.name ?? '') });
  }
  ports.sort((a, b) => a.port - b.port || a.l4.localeCompare(b.l4));
  const reaching = new Map<AppPort, ServicePortFacts[]>();
  for (const sp of services) {
    const target = targetOf(sp, ports, spec);
    if (target) reaching.set(target, [...(reaching.get(target) ?? []), sp]);
  }
  const taken = new Set<number>([...declaredPorts(spec), ...opts.reserved]);
  let next = settings.proxyPort;
  const nextListener = (): number => {
    while (taken.has(next)) next++;
    taken.add(next);
    return next;
  };
  const abilities = settings.proxy === 'none' ? null : PROXY_ABILITIES[settings.proxy];

  return ports.map((port): PortPlan => {
    const sps = reaching.get(port) ?? [];
    const setting = settings.portProtocols.find((p) => p.port === port.port)?.protocol;
    const decision = resolveProtocol({
      port: port.port,
      ...(setting ? { setting } : {}),
      appProtocols: sps.flatMap((s) => (s.appProtocol ? [s.appProtocol] : [])),
      names: [...sps.flatMap((s) => (s.name ? [s.name] : [])), ...(port.name ? [port.name] : [])],
    });
    const plan: PortPlan = { ...port, ...decision };
    if (port.l4 !== 'TCP') return { ...plan, notProxied: `${port.l4.toLowerCase()}: not proxied` };
    if (decision.protocol === 'skip') return { ...plan, notProxied: `skipped (${decision.source})` };
    if (abilities === null) return { ...plan, notProxied: 'no proxy (--proxy none)' };
    if (settings.appPort !== undefined && settings.appPort !== port.port) return { ...plan, notProxied: `not proxied (--app-port ${settings.appPort})` };
    if (!abilities.carries(decision.protocol)) {
      return { ...plan, notProxied: `not proxied: the ${settings.proxy} proxy does not speak ${decision.protocol} yet (use --proxy envoy)` };
    }
    const listener = nextListener();
    return { ...plan, listener };
  });
}

/** The ports that go through the proxy, in listener order. */
export function proxiedPorts(plans: readonly PortPlan[]): (PortPlan & { listener: number })[] {
  return plans.filter((p): p is PortPlan & { listener: number } => p.listener !== undefined);
}

/** How the proxy treats a proxied port: HTTP (a connection manager) or opaque bytes. */
export function carriedAs(plan: PortPlan): ResolvedProtocol {
  return plan.protocol;
}

/** `:9090 grpc (appProtocol) -> proxy :15007`, `:8125 udp: not proxied`: the report's line for a port. */
export function describePort(plan: PortPlan): string {
  if (plan.l4 !== 'TCP') return `:${plan.port} ${plan.notProxied}`;
  const what = plan.protocol === 'detect' ? 'detected per connection (http or tcp)' : `${plan.protocol} (${plan.source})`;
  return plan.listener !== undefined ? `:${plan.port} ${what} -> proxy :${plan.listener}` : `:${plan.port} ${what}: ${plan.notProxied}`;
}

export { isHttpProtocol };

/**
 * The proxy container's `ports` entries for its inbound listeners: `<prefix>-inbound` for the
 * first (the name Services and tools know), `<prefix>-in-<appPort>` for the next (at most 15
 * characters, as Kubernetes requires of port names).
 */
export function listenerPortEntries(plans: readonly PortPlan[], prefix: 'envoy' | 'proxy'): Record<string, unknown>[] {
  return proxiedPorts(plans).map((p, i) => ({ name: i === 0 ? `${prefix}-inbound` : `${prefix}-in-${p.port}`, containerPort: p.listener, protocol: 'TCP' }));
}

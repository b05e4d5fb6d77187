/** Report lines every proxy sidecar gives: where traffic goes, and who may call with mTLS. */
import { networkPolicyOn } from '../network/generated.js';
import { peerIdentities } from './mtls/index.js';
import type { WorkloadContext } from './types.js';
import { carriedAs, describePort, isHttpProtocol, proxiedPorts, type PortPlan } from '../model/ports.js';
import { listenerMtls } from '../network/public.js';
import { POD_IP_ENV } from '../network/addresses.js';

/**
 * One line per app port (`:9090 grpc (appProtocol) -> proxy :15007`, `:8125 udp: not proxied`)
 * and one per upstream (marked when called with mTLS).
 */
export function trafficNotes(ctx: WorkloadContext): string[] {
  const s = ctx.settings;
  const notes = ctx.ports.length > 0 ? ctx.ports.map(describePort) : ['no app port found: no inbound listener (set --app-port or sidecarctl.io/app-port)'];
  const tcpOnly = proxiedPorts(ctx.ports).filter((p) => !isHttpProtocol(carriedAs(p)) && p.protocol !== 'detect');
  if (tcpOnly.length > 0 && (s.retries > 0 || s.timeoutMs !== undefined)) {
    notes.push(`retries and request timeouts apply to HTTP ports only, not to ${tcpOnly.map((p) => `:${p.port} (${p.protocol})`).join(', ')}`);
  }
  const proxied = proxiedPorts(ctx.ports);
  if (s.appAddress === 'pod-ip' && proxied.length > 0) notes.push(`the app listens on the pod IP: the proxy dials it there ($${POD_IP_ENV} from status.podIP), not 127.0.0.1`);
  const ipv6 = proxied.filter((p) => p.ipv6);
  if (ipv6.length > 0) notes.push(`${ipv6.map((p) => `:${p.listener}`).join(', ')} bind :: (IPv6 and IPv4): an IPv6 or dual-stack Service sends there`);
  for (const u of s.upstreams) {
    const mtls = s.upstreamMtls.some((m) => m.name === u.name) ? ' (mTLS)' : '';
    notes.push(`outbound 127.0.0.1:${u.localPort} -> ${u.host}:${u.port}${mtls}`);
  }
  return notes;
}

/** The workload's identity and, with inbound mTLS, who gets in. */
export function mtlsNotes(ctx: WorkloadContext, identity: string): string[] {
  const { mtls } = ctx.settings;
  const notes = [`identity ${identity}`];
  const proxied = proxiedPorts(ctx.ports);
  if (mtls === 'off' || proxied.length === 0) return notes;
  const peers = peerIdentities(ctx);
  const who = peers.length > 0 ? `only ${peers.join(', ')}` : `any workload of trust domain ${ctx.settings.trustDomain}`;
  // Public ports (LoadBalancer, NodePort, externalIPs, Ingress) are never client-certificate-only.
  const publicMode = (p: PortPlan) => listenerMtls(p, mtls, ctx.settings);
  const terminated = proxied.filter((p) => p.protocol !== 'tls' && publicMode(p) === mtls);
  const exposed = proxied.filter((p) => p.protocol !== 'tls' && publicMode(p) !== mtls);
  const passthrough = proxied.filter((p) => p.protocol === 'tls');
  const on = terminated.map((p) => `:${p.listener}`).join(', ');
  if (terminated.length > 0) {
    // Without iptables the app's own ports stay reachable on the pod IP: the claim is about the
    // proxy's ports, and says so.
    const appPorts = networkPolicyOn(ctx.settings) ? "the app's own ports: see the NetworkPolicy line" : "the app's own ports stay reachable on the pod IP: --network-policy closes them";
    if (mtls === 'strict') notes.push(`mTLS strict on ${on}: ${who} (certificate from the CA); plaintext refused there (${appPorts})`);
    else notes.push(`mTLS permissive on ${on}: TLS clients: ${who}; plaintext still accepted (use strict once every client has mTLS)`);
  }
  for (const p of exposed) {
    const how =
      publicMode(p) === 'edge'
        ? `an edge listener: no client certificate asked (plaintext${ctx.settings.proxy === 'envoy' ? ', or TLS without one' : ''}), rate limit and access log kept (--public-mtls permissive for mTLS-or-plaintext)`
        : 'permissive: mTLS or plaintext (--public-mtls)';
    notes.push(`:${p.listener} is reached from outside the cluster (${p.public}): ${how}; a client certificate-only listener would lock browsers and load balancers out`);
  }
  for (const p of passthrough) notes.push(`:${p.listener} is TLS passthrough to :${p.port}: the app terminates TLS, so mTLS does not vet its clients${mtls === 'strict' ? ' (plaintext refused)' : ''}`);
  // A claim about plaintext holds only for the ports that go through the proxy: say which do not.
  const open = ctx.ports.filter((p) => p.listener === undefined && p.l4 === 'TCP');
  if (open.length > 0) notes.push(`warning: ${open.map((p) => `:${p.port}`).join(', ')} not proxied: reachable on the pod IP without mTLS`);
  return notes;
}

/** Report lines every proxy sidecar gives: where traffic goes, and who may call with mTLS. */
import { peerIdentities } from './mtls/index.js';
import type { WorkloadContext } from './types.js';

/** `inbound :15006 -> app :8080` and one line per upstream (marked when called with mTLS). */
export function trafficNotes(ctx: WorkloadContext): string[] {
  const s = ctx.settings;
  const notes =
    ctx.appPort !== undefined
      ? [`inbound :${s.proxyPort} -> app :${ctx.appPort}`]
      : ['no app port found: no inbound listener (set --app-port or sidecarctl.io/app-port)'];
  for (const u of s.upstreams) {
    const mtls = s.upstreamMtls.some((m) => m.name === u.name) ? ' (mTLS)' : '';
    notes.push(`outbound 127.0.0.1:${u.localPort} -> ${u.host}:${u.port}${mtls}`);
  }
  return notes;
}

/** The workload's identity and, with inbound mTLS, who gets in. */
export function mtlsNotes(ctx: WorkloadContext, identity: string): string[] {
  const { mtls, proxyPort } = ctx.settings;
  const notes = [`identity ${identity}`];
  if (mtls === 'off' || ctx.appPort === undefined) return notes;
  const peers = peerIdentities(ctx);
  const who = peers.length > 0 ? peers.join(', ') : `any workload of trust domain ${ctx.settings.trustDomain}`;
  if (mtls === 'strict') notes.push(`mTLS strict on :${proxyPort}: only ${who} (certificate from the CA); plaintext refused`);
  else notes.push(`mTLS permissive on :${proxyPort}: TLS clients must be ${who}; plaintext still accepted (use strict once every client has mTLS)`);
  return notes;
}

/** The resolved settings for one workload: what every sidecar module reads. */
import type { PortProtocol } from '../model/protocols.js';

export interface PortProtocolSetting {
  port: number;
  protocol: PortProtocol;
}

export type ProxyKind = 'envoy' | 'bundled' | 'none';
export type LogAgent = 'fluent-bit' | 'fluentd' | 'none';
export type MtlsMode = 'off' | 'permissive' | 'strict';
export type AppAddress = '127.0.0.1' | 'pod-ip';
/** edge: TLS without client certificate or plaintext (rate limit and access log kept); permissive: mTLS or plaintext. */
export type PublicMtls = 'edge' | 'permissive';

export type LogOutput =
  | { kind: 'stdout' }
  | { kind: 'forward' | 'es' | 'loki'; host: string; port: number };

/** An outbound route: the app calls 127.0.0.1:localPort, the proxy forwards to host:port. */
/** What an outbound upstream speaks: `grpc://` and `tcp://` in `--upstream`, else http. */
export type UpstreamProtocol = 'http' | 'http2' | 'grpc' | 'tcp';

export interface Upstream {
  name: string;
  protocol: UpstreamProtocol;
  host: string;
  port: number;
  localPort: number;
}

/** An upstream the proxy calls with mTLS; `identity` is the server identity to insist on (raw, as given). */
export interface UpstreamMtls {
  name: string;
  identity?: string;
}

export type LogMultiline = 'none' | 'java' | 'go' | 'python';

export interface Settings {
  proxy: ProxyKind;
  proxyImage?: string;
  logging: LogAgent;
  logPath: string;
  /** Stack traces of this language become one record (continuation lines joined); none: a record per line. */
  logMultiline: LogMultiline;
  logOutput: LogOutput;
  mtls: MtlsMode;
  mtlsIssuer?: string;
  mtlsSecret?: string;
  allowPeers: string[];
  trustDomain: string;
  retries: number;
  retryOn: string[];
  perTryTimeoutMs?: number;
  timeoutMs?: number;
  rateLimit?: number;
  burst?: number;
  upstreams: Upstream[];
  upstreamMtls: UpstreamMtls[];
  appPort?: number;
  /** Where the app listens, so where the proxy dials it: 127.0.0.1, or the pod IP (apps bound to status.podIP). */
  appAddress?: AppAddress;
  /** A NetworkPolicy per workload closing the app's own ports (undefined: on with --mtls strict). */
  networkPolicy?: boolean;
  /** Under --mtls strict, a port a public Service (LoadBalancer, NodePort, externalIPs, Ingress) sends to. */
  publicMtls: PublicMtls;
  /** What app ports speak, where the user said so (port -> protocol). */
  portProtocols: PortProtocolSetting[];
  proxyPort: number;
  adminPort: number;
  nativeSidecar: boolean;
  templates?: string;
}

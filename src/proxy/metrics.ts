/**
 * Prometheus metrics, rendered in the text exposition format by the admin listener.
 *
 * The hot path only increments numbers in preallocated arrays (one RouteMetrics per listener and
 * upstream, looked up when the config is applied, never per request); label strings are built
 * once and all formatting happens when /metrics is scraped.
 */

/** Request duration histogram buckets, in seconds. */
export const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const PREFIX = 'sidecarctl_proxy_';

/** Counters for one listener and the upstream it forwards to. */
export class RouteMetrics {
  /** Requests by status code (index = code; node only accepts 100-999). */
  readonly codes = new Float64Array(1000);
  readonly buckets = new Float64Array(DURATION_BUCKETS.length + 1);
  durationSum = 0;
  retries = 0;
  /** gRPC calls by the grpc-status the client got (index = code, 0-16). */
  readonly grpcCodes = new Float64Array(17);
  readonly overflow = new Map<string, number>();
  /** Reads the circuit state (0 closed, 1 open, 2 half-open); null once the upstream is retired. */
  circuitState: (() => number) | null = null;
  /** Reads the open upstream connections; null once the upstream is retired. */
  upstreamConnections: (() => number) | null = null;

  constructor(readonly labels: string) {}

  observe(status: number, seconds: number): void {
    this.codes[status]!++;
    this.durationSum += seconds;
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    this.buckets[i]!++;
  }

  observeGrpc(code: number): void {
    if (code >= 0 && code < 17) this.grpcCodes[code]!++;
  }

  countOverflow(reason: string): void {
    this.overflow.set(reason, (this.overflow.get(reason) ?? 0) + 1);
  }
}

/** Counters for one listener (connections and rate limiting happen before any upstream). */
export class ListenerMetrics {
  rateLimited = 0;
  connectionsTotal = 0;
  activeConnections = 0;
  peersRejected = 0;
  /** tcp/tls listeners: bytes from clients (received) and to clients (sent). */
  tcpBytesReceived = 0;
  tcpBytesSent = 0;
  /** tcp/tls listeners: connections ended, by close reason (see tcp.ts). */
  readonly tcpClosed = new Map<string, number>();
  /** Reads requests in flight; set by the listener. */
  activeRequests: () => number = () => 0;

  constructor(readonly labels: string) {}
}

export class Metrics {
  private readonly routes = new Map<string, RouteMetrics>();
  private readonly listeners = new Map<string, ListenerMetrics>();
  readonly reloads = { ok: 0, rejected: 0 };
  readonly certReloads = { ok: 0, failed: 0 };
  accessLogDropped: () => number = () => 0;

  route(listener: string, upstream: string): RouteMetrics {
    const key = `${listener}\0${upstream}`;
    let m = this.routes.get(key);
    if (!m) {
      m = new RouteMetrics(`listener=${label(listener)},upstream=${label(upstream)}`);
      this.routes.set(key, m);
    }
    return m;
  }

  listener(name: string): ListenerMetrics {
    let m = this.listeners.get(name);
    if (!m) {
      m = new ListenerMetrics(`listener=${label(name)}`);
      this.listeners.set(name, m);
    }
    return m;
  }

  render(): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) => {
      out.push(`# HELP ${PREFIX}${name} ${help}`, `# TYPE ${PREFIX}${name} ${type}`);
    };
    const routes = [...this.routes.values()];
    const listeners = [...this.listeners.values()];

    family('requests_total', 'counter', 'Requests answered, by listener, upstream and status code.');
    for (const r of routes) {
      r.codes.forEach((n, code) => {
        if (n > 0) out.push(`${PREFIX}requests_total{${r.labels},code="${code}"} ${n}`);
      });
    }

    family('grpc_responses_total', 'counter', 'gRPC calls answered, by listener, upstream and grpc-status.');
    for (const r of routes) {
      r.grpcCodes.forEach((n, code) => {
        if (n > 0) out.push(`${PREFIX}grpc_responses_total{${r.labels},grpc_status="${code}"} ${n}`);
      });
    }

    family('request_duration_seconds', 'histogram', 'Time from request arrival to the end of the response.');
    for (const r of routes) {
      let cumulative = 0;
      DURATION_BUCKETS.forEach((le, i) => {
        cumulative += r.buckets[i]!;
        out.push(`${PREFIX}request_duration_seconds_bucket{${r.labels},le="${le}"} ${cumulative}`);
      });
      cumulative += r.buckets[DURATION_BUCKETS.length]!;
      out.push(`${PREFIX}request_duration_seconds_bucket{${r.labels},le="+Inf"} ${cumulative}`);
      out.push(`${PREFIX}request_duration_seconds_sum{${r.labels}} ${r.durationSum}`);
      out.push(`${PREFIX}request_duration_seconds_count{${r.labels}} ${cumulative}`);
    }

    family('retries_total', 'counter', 'Retry attempts sent to the upstream.');
    for (const r of routes) out.push(`${PREFIX}retries_total{${r.labels}} ${r.retries}`);

    family('overflow_total', 'counter', 'Requests rejected with 503 by the circuit breaker, by reason.');
    for (const r of routes) {
      for (const [reason, n] of r.overflow) out.push(`${PREFIX}overflow_total{${r.labels},reason=${label(reason)}} ${n}`);
    }

    family('circuit_state', 'gauge', 'Circuit breaker state: 0 closed, 1 open (upstream ejected), 2 half-open.');
    for (const r of routes) {
      if (r.circuitState) out.push(`${PREFIX}circuit_state{${r.labels}} ${r.circuitState()}`);
    }

    family('upstream_connections', 'gauge', 'Open connections to the upstream (pooled and busy).');
    for (const r of routes) {
      if (r.upstreamConnections) out.push(`${PREFIX}upstream_connections{${r.labels}} ${r.upstreamConnections()}`);
    }

    family('rate_limited_total', 'counter', 'Rejected by the rate limiter: requests (answered 429) or, on tcp/tls listeners, connections (closed).');
    for (const l of listeners) out.push(`${PREFIX}rate_limited_total{${l.labels}} ${l.rateLimited}`);

    family('active_requests', 'gauge', 'Requests in flight.');
    for (const l of listeners) out.push(`${PREFIX}active_requests{${l.labels}} ${l.activeRequests()}`);

    family('active_connections', 'gauge', 'Open client connections.');
    for (const l of listeners) out.push(`${PREFIX}active_connections{${l.labels}} ${l.activeConnections}`);

    family('connections_total', 'counter', 'Client connections accepted.');
    for (const l of listeners) out.push(`${PREFIX}connections_total{${l.labels}} ${l.connectionsTotal}`);

    family('tls_peers_rejected_total', 'counter', 'TLS clients refused because no SAN is in allowedPeers.');
    for (const l of listeners) out.push(`${PREFIX}tls_peers_rejected_total{${l.labels}} ${l.peersRejected}`);

    family('tcp_connections_closed_total', 'counter', 'Connections of tcp/tls listeners ended, by close reason.');
    for (const l of listeners) {
      for (const [reason, n] of l.tcpClosed) out.push(`${PREFIX}tcp_connections_closed_total{${l.labels},reason=${label(reason)}} ${n}`);
    }

    family('tcp_bytes_total', 'counter', 'Bytes carried by tcp/tls listeners: received from clients, sent to clients.');
    for (const l of listeners) {
      if (l.tcpBytesReceived === 0 && l.tcpBytesSent === 0 && l.tcpClosed.size === 0) continue;
      out.push(`${PREFIX}tcp_bytes_total{${l.labels},direction="received"} ${l.tcpBytesReceived}`);
      out.push(`${PREFIX}tcp_bytes_total{${l.labels},direction="sent"} ${l.tcpBytesSent}`);
    }

    family('config_reloads_total', 'counter', 'Config file reloads, by result.');
    out.push(`${PREFIX}config_reloads_total{result="ok"} ${this.reloads.ok}`);
    out.push(`${PREFIX}config_reloads_total{result="rejected"} ${this.reloads.rejected}`);

    family('certificate_reloads_total', 'counter', 'Certificate reloads from disk, by result.');
    out.push(`${PREFIX}certificate_reloads_total{result="ok"} ${this.certReloads.ok}`);
    out.push(`${PREFIX}certificate_reloads_total{result="failed"} ${this.certReloads.failed}`);

    family('access_log_dropped_total', 'counter', 'Access log lines dropped because stdout was not keeping up.');
    out.push(`${PREFIX}access_log_dropped_total ${this.accessLogDropped()}`);

    family('process_resident_memory_bytes', 'gauge', 'Resident set size of the proxy process.');
    out.push(`${PREFIX}process_resident_memory_bytes ${process.memoryUsage.rss()}`);

    return `${out.join('\n')}\n`;
  }
}

/** A quoted, escaped label value. */
function label(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

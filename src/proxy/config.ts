/**
 * The bundled proxy's configuration: the file format (`ProxyConfig`, what the inject side writes),
 * its validation, and the resolved form the runtime uses (`ResolvedProxyConfig`, every default
 * filled in).
 *
 * The JSON Schema shipped in `schemas/proxy-config.schema.json` describes the same format; a test
 * checks that both accept and reject the same samples. Validation here is hand-written on purpose:
 * the proxy is bundled into one small file and must not pull in a schema library.
 *
 * All durations are integer milliseconds (the CLI converts '250ms' / '2s').
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';

// ---------------------------------------------------------------------------------------------
// File format
// ---------------------------------------------------------------------------------------------

export interface ProxyConfig {
  /** Editors may point at the schema; ignored by the runtime. */
  $schema?: string;
  /**
   * Traffic from other pods to this pod's app: one listener, or one per app port (each named;
   * the first defaults to `inbound`).
   */
  inbound?: InboundListenerConfig | InboundListenerConfig[];
  /** One listener per upstream the app calls, each on its own 127.0.0.1 port. */
  outbound?: OutboundListenerConfig[];
  admin: AdminConfig;
  accessLog?: AccessLogConfig;
  limits?: LimitsConfig;
  /** How long SIGTERM waits for in-flight requests before closing what is left. */
  drainTimeoutMs?: number;
}

export interface TargetConfig {
  host: string;
  port: number;
}

/**
 * What a listener speaks. Clients of `http`, `http2` and `grpc` listeners may use HTTP/1.1, h2c
 * with prior knowledge or h2 over TLS (ALPN); the protocol says what the app speaks:
 * - `http`: HTTP/1.1 to the app (h2 clients translated);
 * - `http2`, `grpc`: HTTP/2 to the app (a pooled session), trailers carried; `grpc` adds gRPC's
 *   semantics (grpc-status retries, grpc-timeout, local answers as gRPC statuses);
 * - `tcp`: opaque bytes (with mTLS the proxy terminates TLS and forwards plaintext);
 * - `tls`: TLS passthrough (bytes forwarded as they are, the app terminates TLS);
 * - `detect`: the first bytes decide per connection: an HTTP/2 preface is HTTP/2 to the app, an
 *   HTTP/1 method token HTTP/1.1, anything else (or silence) raw TCP.
 */
export const LISTENER_PROTOCOLS = ['http', 'http2', 'grpc', 'tcp', 'tls', 'detect'] as const;
export type ListenerProtocol = (typeof LISTENER_PROTOCOLS)[number];

/** Protocols an outbound listener (the app calling an upstream) may speak. */
export const OUTBOUND_PROTOCOLS = ['http', 'http2', 'grpc', 'tcp'] as const;

/** Listeners that forward opaque bytes (tcp.ts) rather than HTTP requests. */
export function isStreamProtocol(p: ListenerProtocol): p is 'tcp' | 'tls' {
  return p === 'tcp' || p === 'tls';
}

/** Listeners whose app speaks HTTP/2 (a pooled HTTP/2 session to the target). */
export function speaksH2Upstream(p: ListenerProtocol): boolean {
  return p === 'http2' || p === 'grpc';
}

export interface InboundListenerConfig {
  /** DNS-label-like name, used in metrics and logs; default `inbound` (the first listener). */
  name?: string;
  /**
   * Default http. On tcp/tls listeners rateLimit counts new connections per second (excess closed
   * at once), circuitBreaker.maxConnections caps open connections, timeouts.idleMs closes silent
   * connections, requestMs bounds connecting to the app, headersMs the TLS handshake; retries
   * are refused.
   */
  protocol?: ListenerProtocol;
  port: number;
  /** Defaults to 0.0.0.0: inbound traffic comes from other pods. */
  address?: string;
  /** The app, normally 127.0.0.1:appPort. */
  target: TargetConfig;
  rateLimit?: RateLimitConfig;
  mtls?: InboundMtlsConfig;
  timeouts?: TimeoutsConfig;
  retries?: RetriesConfig;
  circuitBreaker?: CircuitBreakerConfig;
}

export interface OutboundListenerConfig {
  /** DNS-label-like name, used in metrics and logs. */
  name: string;
  port: number;
  /** Defaults to 127.0.0.1: only the app in this pod should reach it. */
  address?: string;
  target: TargetConfig;
  /**
   * Host header sent upstream. The app talks to 127.0.0.1:port, so its Host header is useless to
   * the upstream; by default it is replaced with `target.host[:target.port]`.
   */
  hostRewrite?: string;
  rateLimit?: RateLimitConfig;
  timeouts?: TimeoutsConfig;
  retries?: RetriesConfig;
  circuitBreaker?: CircuitBreakerConfig;
  /** Originate TLS (optionally mutual) to the upstream. */
  tls?: OriginationTlsConfig;
}

export interface RateLimitConfig {
  /** Tokens added per second. */
  rps: number;
  /** Bucket size: how many requests may arrive at once. */
  burst: number;
}

export type MtlsMode = 'off' | 'permissive' | 'strict';

export interface InboundMtlsConfig {
  /** off: plaintext only; permissive: TLS and plaintext on the same port; strict: mTLS only. */
  mode: MtlsMode;
  certFile?: string;
  keyFile?: string;
  /** CA bundle that client certificates must chain to. */
  caFile?: string;
  /**
   * Peers allowed to connect, matched against the client certificate's SANs: an entry with a
   * scheme (spiffe://cluster.local/ns/x/sa/y) matches a URI SAN, anything else a DNS SAN.
   * A trailing `*` matches any suffix. Empty or absent: any certificate signed by the CA.
   */
  allowedPeers?: string[];
}

export interface OriginationTlsConfig {
  /** Client certificate and key for mutual TLS; omit both for server-only TLS. */
  certFile?: string;
  keyFile?: string;
  /** CA bundle the upstream's certificate must chain to. */
  caFile: string;
  /** SNI and, without expectedSan, the name checked in the server certificate. Defaults to target.host. */
  serverName?: string;
  /** Accept the server only if its certificate has one of these SANs (same syntax as allowedPeers). */
  expectedSan?: string[];
}

export interface TimeoutsConfig {
  /** The whole request must be received and the upstream must start answering within this (504). */
  requestMs?: number;
  /** Inactivity on a connection or a streaming body; also the keep-alive idle timeout. */
  idleMs?: number;
  /** The client must send the complete request headers within this (408). */
  headersMs?: number;
}

export const RETRY_CONDITIONS = [
  '5xx',
  'gateway-error',
  'connect-failure',
  'reset',
  'retriable-4xx',
  'timeout',
  'cancelled',
  'deadline-exceeded',
  'resource-exhausted',
  'unavailable',
] as const;
/**
 * - `5xx`: any 5xx response, plus connect failures, resets and per-try timeouts (as Envoy).
 * - `gateway-error`: 502, 503 or 504 responses, plus per-try timeouts.
 * - `connect-failure`: the upstream could not be connected to.
 * - `reset`: the upstream closed or reset the connection before answering.
 * - `retriable-4xx`: 409 Conflict.
 * - `timeout`: the per-try timeout expired.
 * - `cancelled`, `deadline-exceeded`, `resource-exhausted`, `unavailable`: a gRPC response whose
 *   grpc-status is CANCELLED (1), DEADLINE_EXCEEDED (4), RESOURCE_EXHAUSTED (8) or UNAVAILABLE
 *   (14), as long as nothing of it has reached the client (a trailers-only answer).
 */
export type RetryCondition = (typeof RETRY_CONDITIONS)[number];

export interface RetriesConfig {
  /** Total tries including the first one; 1 disables retries. */
  attempts?: number;
  retryOn?: RetryCondition[];
  /** Time limit for one try to get response headers; absent: only the overall request timeout. */
  perTryTimeoutMs?: number;
  backoff?: { baseMs: number; maxMs: number };
  /** Retries in flight may not exceed max(minConcurrency, percent% of active requests). */
  budget?: { percent: number; minConcurrency: number };
}

export interface CircuitBreakerConfig {
  /** Upstream connections (the keep-alive pool size). */
  maxConnections?: number;
  /** Requests waiting for a connection once all are busy. */
  maxPending?: number;
  /** Requests in flight to the upstream. */
  maxRequests?: number;
  /** Consecutive 5xx (or connect failures/resets/timeouts) that eject the upstream; 0 disables ejection. */
  consecutive5xx?: number;
  /** How long an ejected upstream gets 503s before one probe request is let through. */
  ejectionMs?: number;
}

export interface AdminConfig {
  port: number;
  /** Defaults to 127.0.0.1. */
  address?: string;
}

export interface AccessLogConfig {
  enabled: boolean;
  /**
   * Also send each line to a log shipper in the pod as newline-delimited JSON over TCP (Fluent
   * Bit's `tcp` input, Fluentd's `in_tcp`). Read at start only.
   */
  tcp?: TargetConfig;
}

export interface LimitsConfig {
  /** Request (and upstream response) header bytes; larger requests get 431. */
  maxHeaderBytes?: number;
  /** Request header count; more get 431. */
  maxHeaders?: number;
  /** Request body bytes; larger get 413. Absent: unlimited (bodies are streamed). */
  maxBodyBytes?: number;
  /** Largest request body kept in memory so that the request can be retried. */
  retryBufferBytes?: number;
  /** HTTP/2: streams a client may have open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams?: number;
  /**
   * HTTP/2: streams a client may reset per second on one connection before the connection is
   * closed with GOAWAY ENHANCE_YOUR_CALM (rapid reset, CVE-2023-44487). Twice this is the burst.
   */
  maxResetsPerSecond?: number;
}

// ---------------------------------------------------------------------------------------------
// Resolved form: what the runtime works with
// ---------------------------------------------------------------------------------------------

export interface ResolvedRetries {
  attempts: number;
  retryOn: RetryCondition[];
  perTryTimeoutMs: number | null;
  backoff: { baseMs: number; maxMs: number };
  budget: { percent: number; minConcurrency: number };
}

export interface ResolvedListenerConfig {
  kind: 'inbound' | 'outbound';
  /** 'inbound', or the outbound listener's name. */
  name: string;
  /** Outbound listeners: http, http2, grpc or tcp. */
  protocol: ListenerProtocol;
  address: string;
  port: number;
  target: TargetConfig;
  hostRewrite: string | null;
  rateLimit: RateLimitConfig | null;
  timeouts: Required<TimeoutsConfig>;
  retries: ResolvedRetries;
  circuitBreaker: Required<CircuitBreakerConfig>;
  /** Inbound only; null means plaintext. */
  mtls: Required<InboundMtlsConfig> | null;
  /** Outbound only; null means plaintext to the upstream. */
  tls: ResolvedOriginationTls | null;
  limits: ResolvedLimits;
}

export interface ResolvedOriginationTls {
  certFile: string | null;
  keyFile: string | null;
  caFile: string;
  serverName: string;
  expectedSan: string[];
}

export interface ResolvedLimits {
  maxHeaderBytes: number;
  maxHeaders: number;
  maxBodyBytes: number | null;
  retryBufferBytes: number;
  maxConcurrentStreams: number;
  maxResetsPerSecond: number;
}

export interface ResolvedProxyConfig {
  listeners: ResolvedListenerConfig[];
  admin: Required<AdminConfig>;
  accessLog: AccessLogConfig;
  limits: ResolvedLimits;
  drainTimeoutMs: number;
}

export const DEFAULTS: {
  timeouts: Required<TimeoutsConfig>;
  retries: ResolvedRetries;
  circuitBreaker: Required<CircuitBreakerConfig>;
  limits: ResolvedLimits;
  drainTimeoutMs: number;
  inboundAddress: string;
  outboundAddress: string;
  adminAddress: string;
} = {
  timeouts: { requestMs: 15_000, idleMs: 60_000, headersMs: 10_000 },
  retries: {
    attempts: 1,
    retryOn: ['connect-failure', 'reset', 'gateway-error'],
    perTryTimeoutMs: null,
    backoff: { baseMs: 25, maxMs: 250 },
    budget: { percent: 20, minConcurrency: 3 },
  },
  circuitBreaker: {
    maxConnections: 1024,
    maxPending: 1024,
    maxRequests: 1024,
    consecutive5xx: 0,
    ejectionMs: 30_000,
  },
  limits: {
    maxHeaderBytes: 16_384,
    maxHeaders: 100,
    maxBodyBytes: null,
    retryBufferBytes: 65_536,
    maxConcurrentStreams: 100,
    maxResetsPerSecond: 100,
  },
  drainTimeoutMs: 15_000,
  inboundAddress: '0.0.0.0',
  outboundAddress: '127.0.0.1',
  adminAddress: '127.0.0.1',
};

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

export interface ConfigIssue {
  /** Dotted path from the root, e.g. `outbound[1].target.port`; '(root)' for the document. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: ConfigIssue[],
  ) {
    super(`invalid proxy config ${source}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

const MAX_MS = 86_400_000; // one day: anything longer is a unit mistake
const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HOST_PATTERN = /^[A-Za-z0-9._:-]+$/;

/** Collects issues while walking the document; each check returns the value when it is usable. */
class Checker {
  readonly issues: ConfigIssue[] = [];

  fail(path: string, message: string): undefined {
    this.issues.push({ path: path || '(root)', message });
    return undefined;
  }

  object(value: unknown, path: string, keys: readonly string[], required: readonly string[] = []) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return this.fail(path, 'must be an object');
    }
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (!keys.includes(key)) this.fail(join(path, key), 'is not a known setting');
    }
    for (const key of required) {
      if (obj[key] === undefined) this.fail(join(path, key), 'is required');
    }
    return obj;
  }

  integer(value: unknown, path: string, min: number, max: number): number | undefined {
    if (typeof value !== 'number' || !Number.isInteger(value)) return this.fail(path, 'must be an integer');
    if (value < min || value > max) return this.fail(path, `must be between ${min} and ${max}`);
    return value;
  }

  /** A number strictly greater than zero. */
  positive(value: unknown, path: string, max: number): number | undefined {
    if (typeof value !== 'number' || !Number.isFinite(value)) return this.fail(path, 'must be a number');
    if (value <= 0 || value > max) return this.fail(path, `must be greater than 0 and at most ${max}`);
    return value;
  }

  string(value: unknown, path: string, pattern?: RegExp, what = 'a non-empty string'): string | undefined {
    if (typeof value !== 'string' || value.length === 0) return this.fail(path, 'must be a non-empty string');
    if (pattern && !pattern.test(value)) return this.fail(path, `must be ${what}`);
    return value;
  }

  boolean(value: unknown, path: string): boolean | undefined {
    if (typeof value !== 'boolean') return this.fail(path, 'must be true or false');
    return value;
  }

  ip(value: unknown, path: string): string | undefined {
    if (typeof value !== 'string' || isIP(value) === 0) return this.fail(path, 'must be an IPv4 or IPv6 address');
    return value;
  }

  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): T | undefined {
    if (typeof value !== 'string' || !allowed.includes(value as T)) {
      return this.fail(path, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    }
    return value as T;
  }

  /** An array whose items are checked by `item`; duplicates are reported when `unique`. */
  array<T>(
    value: unknown,
    path: string,
    item: (v: unknown, p: string) => T | undefined,
    opts: { min?: number; max?: number; unique?: boolean } = {},
  ): T[] | undefined {
    if (!Array.isArray(value)) return this.fail(path, 'must be an array');
    if (opts.min !== undefined && value.length < opts.min) return this.fail(path, `must have at least ${opts.min} item(s)`);
    if (opts.max !== undefined && value.length > opts.max) return this.fail(path, `must have at most ${opts.max} items`);
    const out: T[] = [];
    value.forEach((v, i) => {
      const checked = item(v, `${path}[${i}]`);
      if (checked === undefined) return;
      if (opts.unique && out.includes(checked)) this.fail(`${path}[${i}]`, 'is a duplicate');
      out.push(checked);
    });
    return out;
  }
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

const ms = (c: Checker, v: unknown, p: string) => c.integer(v, p, 1, MAX_MS);
const port = (c: Checker, v: unknown, p: string) => c.integer(v, p, 0, 65_535);

function checkTarget(c: Checker, v: unknown, p: string): TargetConfig | undefined {
  const o = c.object(v, p, ['host', 'port'], ['host', 'port']);
  if (!o) return undefined;
  const host = o.host === undefined ? undefined : c.string(o.host, join(p, 'host'), HOST_PATTERN, 'a host name or IP address');
  const prt = o.port === undefined ? undefined : c.integer(o.port, join(p, 'port'), 1, 65_535);
  return host !== undefined && prt !== undefined ? { host, port: prt } : undefined;
}

function checkRateLimit(c: Checker, v: unknown, p: string): RateLimitConfig | undefined {
  const o = c.object(v, p, ['rps', 'burst'], ['rps', 'burst']);
  if (!o) return undefined;
  const rps = o.rps === undefined ? undefined : c.positive(o.rps, join(p, 'rps'), 1_000_000);
  const burst = o.burst === undefined ? undefined : c.integer(o.burst, join(p, 'burst'), 1, 1_000_000);
  return rps !== undefined && burst !== undefined ? { rps, burst } : undefined;
}

function checkTimeouts(c: Checker, v: unknown, p: string): Required<TimeoutsConfig> {
  const out: Required<TimeoutsConfig> = { ...DEFAULTS.timeouts };
  const o = c.object(v, p, ['requestMs', 'idleMs', 'headersMs']);
  if (!o) return out;
  for (const key of ['requestMs', 'idleMs', 'headersMs'] as const) {
    if (o[key] !== undefined) out[key] = ms(c, o[key], join(p, key)) ?? out[key];
  }
  return out;
}

/** A SAN pattern: a URI (has a scheme) or a DNS name, optionally ending in '*'. */
function checkSan(c: Checker, v: unknown, p: string): string | undefined {
  return c.string(v, p, /^\S+$/, 'a SAN without spaces');
}

function checkRetries(c: Checker, v: unknown, p: string): ResolvedRetries {
  const d = DEFAULTS.retries;
  const out: ResolvedRetries = {
    attempts: d.attempts,
    retryOn: [...d.retryOn],
    perTryTimeoutMs: d.perTryTimeoutMs,
    backoff: { ...d.backoff },
    budget: { ...d.budget },
  };
  const o = c.object(v, p, ['attempts', 'retryOn', 'perTryTimeoutMs', 'backoff', 'budget']);
  if (!o) return out;
  if (o.attempts !== undefined) out.attempts = c.integer(o.attempts, join(p, 'attempts'), 1, 10) ?? out.attempts;
  if (o.retryOn !== undefined) {
    out.retryOn =
      c.array(o.retryOn, join(p, 'retryOn'), (x, xp) => c.oneOf(x, xp, RETRY_CONDITIONS), { unique: true }) ??
      out.retryOn;
  }
  if (o.perTryTimeoutMs !== undefined) out.perTryTimeoutMs = ms(c, o.perTryTimeoutMs, join(p, 'perTryTimeoutMs')) ?? null;
  if (o.backoff !== undefined) {
    const bp = join(p, 'backoff');
    const b = c.object(o.backoff, bp, ['baseMs', 'maxMs'], ['baseMs', 'maxMs']);
    if (b) {
      if (b.baseMs !== undefined) out.backoff.baseMs = ms(c, b.baseMs, join(bp, 'baseMs')) ?? out.backoff.baseMs;
      if (b.maxMs !== undefined) out.backoff.maxMs = ms(c, b.maxMs, join(bp, 'maxMs')) ?? out.backoff.maxMs;
    }
  }
  if (o.budget !== undefined) {
    const bp = join(p, 'budget');
    const b = c.object(o.budget, bp, ['percent', 'minConcurrency'], ['percent', 'minConcurrency']);
    if (b) {
      if (b.percent !== undefined) out.budget.percent = c.integer(b.percent, join(bp, 'percent'), 0, 100) ?? 0;
      if (b.minConcurrency !== undefined) {
        out.budget.minConcurrency = c.integer(b.minConcurrency, join(bp, 'minConcurrency'), 0, 100_000) ?? 0;
      }
    }
  }
  return out;
}

function checkCircuitBreaker(c: Checker, v: unknown, p: string): Required<CircuitBreakerConfig> {
  const out: Required<CircuitBreakerConfig> = { ...DEFAULTS.circuitBreaker };
  const o = c.object(v, p, ['maxConnections', 'maxPending', 'maxRequests', 'consecutive5xx', 'ejectionMs']);
  if (!o) return out;
  const limits: [keyof CircuitBreakerConfig, number][] = [
    ['maxConnections', 1],
    ['maxPending', 0],
    ['maxRequests', 1],
    ['consecutive5xx', 0],
  ];
  for (const [key, min] of limits) {
    if (o[key] !== undefined) out[key] = c.integer(o[key], join(p, key), min, 1_000_000) ?? out[key];
  }
  if (o.ejectionMs !== undefined) out.ejectionMs = ms(c, o.ejectionMs, join(p, 'ejectionMs')) ?? out.ejectionMs;
  return out;
}

function checkMtls(c: Checker, v: unknown, p: string): Required<InboundMtlsConfig> | null {
  const o = c.object(v, p, ['mode', 'certFile', 'keyFile', 'caFile', 'allowedPeers'], ['mode']);
  if (!o || o.mode === undefined) return null;
  const mode = c.oneOf(o.mode, join(p, 'mode'), ['off', 'permissive', 'strict'] as const);
  const files: Record<'certFile' | 'keyFile' | 'caFile', string> = { certFile: '', keyFile: '', caFile: '' };
  for (const key of ['certFile', 'keyFile', 'caFile'] as const) {
    if (o[key] !== undefined) files[key] = c.string(o[key], join(p, key)) ?? '';
    else if (mode !== undefined && mode !== 'off') c.fail(join(p, key), `is required when mode is "${mode}"`);
  }
  const allowedPeers =
    o.allowedPeers === undefined ? [] : (c.array(o.allowedPeers, join(p, 'allowedPeers'), (x, xp) => checkSan(c, x, xp)) ?? []);
  if (mode === undefined || mode === 'off') return null;
  return { mode, ...files, allowedPeers };
}

function checkOriginationTls(c: Checker, v: unknown, p: string, target: TargetConfig | undefined) {
  const o = c.object(v, p, ['certFile', 'keyFile', 'caFile', 'serverName', 'expectedSan'], ['caFile']);
  if (!o) return null;
  const file = (key: string) => (o[key] === undefined ? null : (c.string(o[key], join(p, key)) ?? null));
  const certFile = file('certFile');
  const keyFile = file('keyFile');
  if ((o.certFile === undefined) !== (o.keyFile === undefined)) {
    c.fail(join(p, o.certFile === undefined ? 'certFile' : 'keyFile'), 'is required together with the other one');
  }
  const caFile = file('caFile') ?? '';
  const serverName =
    o.serverName === undefined
      ? (target?.host ?? '')
      : (c.string(o.serverName, join(p, 'serverName'), HOST_PATTERN, 'a host name') ?? '');
  const expectedSan =
    o.expectedSan === undefined
      ? []
      : (c.array(o.expectedSan, join(p, 'expectedSan'), (x, xp) => checkSan(c, x, xp), { min: 1 }) ?? []);
  return { certFile, keyFile, caFile, serverName, expectedSan };
}

function listenerName(c: Checker, v: unknown, p: string): string | undefined {
  const name = c.string(v, p, NAME_PATTERN, 'a lowercase DNS label (a-z, 0-9, -)');
  return name !== undefined && name.length > 63 ? c.fail(p, 'must be at most 63 characters') : name;
}

/** Settings shared by inbound and outbound listeners. */
function checkCommon(c: Checker, o: Record<string, unknown>, p: string, limits: ResolvedLimits) {
  return {
    port: o.port === undefined ? undefined : port(c, o.port, join(p, 'port')),
    target: o.target === undefined ? undefined : checkTarget(c, o.target, join(p, 'target')),
    rateLimit: o.rateLimit === undefined ? null : (checkRateLimit(c, o.rateLimit, join(p, 'rateLimit')) ?? null),
    // Absent sections resolve to their defaults (an empty object checks clean).
    timeouts: checkTimeouts(c, o.timeouts ?? {}, join(p, 'timeouts')),
    retries: checkRetries(c, o.retries ?? {}, join(p, 'retries')),
    circuitBreaker: checkCircuitBreaker(c, o.circuitBreaker ?? {}, join(p, 'circuitBreaker')),
    limits,
  };
}

const COMMON_KEYS = ['port', 'address', 'target', 'rateLimit', 'timeouts', 'retries', 'circuitBreaker'];

/** `defaultName`: the name of a listener given without one; null when a name is required. */
function checkInbound(c: Checker, v: unknown, limits: ResolvedLimits, p = 'inbound', defaultName: string | null = 'inbound'): ResolvedListenerConfig | undefined {
  const o = c.object(v, p, [...COMMON_KEYS, 'mtls', 'name', 'protocol'], defaultName === null ? ['name', 'port', 'target'] : ['port', 'target']);
  if (!o) return undefined;
  const name = o.name === undefined ? (defaultName ?? undefined) : listenerName(c, o.name, join(p, 'name'));
  const protocol = o.protocol === undefined ? 'http' : c.oneOf(o.protocol, join(p, 'protocol'), LISTENER_PROTOCOLS);
  if (protocol !== undefined && isStreamProtocol(protocol) && o.retries !== undefined) {
    c.fail(join(p, 'retries'), `does not apply to a ${protocol} listener (opaque bytes cannot be replayed; retries are for HTTP)`);
  }
  const common = checkCommon(c, o, p, limits);
  const address = o.address === undefined ? DEFAULTS.inboundAddress : c.ip(o.address, join(p, 'address'));
  const mtls = o.mtls === undefined ? null : checkMtls(c, o.mtls, join(p, 'mtls'));
  if (name === undefined || protocol === undefined || common.port === undefined || common.target === undefined || address === undefined) return undefined;
  return { kind: 'inbound', name, protocol, address, ...common, port: common.port, target: common.target, hostRewrite: null, mtls, tls: null };
}

function checkOutbound(c: Checker, v: unknown, p: string, limits: ResolvedLimits): ResolvedListenerConfig | undefined {
  const o = c.object(v, p, [...COMMON_KEYS, 'name', 'hostRewrite', 'tls', 'protocol'], ['name', 'port', 'target']);
  if (!o) return undefined;
  let name: string | undefined;
  if (o.name !== undefined) {
    name = listenerName(c, o.name, join(p, 'name'));
    if (name === 'inbound') name = c.fail(join(p, 'name'), 'must not be "inbound" (reserved for the inbound listener)');
  }
  const common = checkCommon(c, o, p, limits);
  const address = o.address === undefined ? DEFAULTS.outboundAddress : c.ip(o.address, join(p, 'address'));
  const hostRewrite = o.hostRewrite === undefined ? undefined : c.string(o.hostRewrite, join(p, 'hostRewrite'), HOST_PATTERN, 'a host[:port]');
  const tls = o.tls === undefined ? null : checkOriginationTls(c, o.tls, join(p, 'tls'), common.target);
  const protocol = o.protocol === undefined ? 'http' : c.oneOf(o.protocol, join(p, 'protocol'), OUTBOUND_PROTOCOLS);
  if (protocol === 'tcp' && o.tls !== undefined) c.fail(join(p, 'tls'), 'TLS origination is for HTTP upstreams; a tcp upstream gets the bytes as the app sends them');
  if (protocol === 'tcp' && o.retries !== undefined) {
    c.fail(join(p, 'retries'), 'does not apply to a tcp listener (opaque bytes cannot be replayed; retries are for HTTP)');
  }
  if (name === undefined || protocol === undefined || common.port === undefined || common.target === undefined || address === undefined) return undefined;
  const target = common.target;
  return {
    kind: 'outbound',
    name,
    protocol,
    address,
    ...common,
    port: common.port,
    target,
    hostRewrite: hostRewrite ?? defaultHost(target, tls !== null),
    mtls: null,
    tls,
  };
}

/** Host header for an outbound target: host[:port], IPv6 literals in brackets (RFC 9110 §7.2). */
function defaultHost(target: TargetConfig, tls: boolean): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return target.port === (tls ? 443 : 80) ? host : `${host}:${target.port}`;
}

function checkLimits(c: Checker, v: unknown): ResolvedLimits {
  const out: ResolvedLimits = { ...DEFAULTS.limits };
  if (v === undefined) return out;
  const p = 'limits';
  const o = c.object(v, p, ['maxHeaderBytes', 'maxHeaders', 'maxBodyBytes', 'retryBufferBytes', 'maxConcurrentStreams', 'maxResetsPerSecond']);
  if (!o) return out;
  if (o.maxHeaderBytes !== undefined) {
    out.maxHeaderBytes = c.integer(o.maxHeaderBytes, join(p, 'maxHeaderBytes'), 1024, 1_048_576) ?? out.maxHeaderBytes;
  }
  if (o.maxHeaders !== undefined) out.maxHeaders = c.integer(o.maxHeaders, join(p, 'maxHeaders'), 1, 1000) ?? out.maxHeaders;
  if (o.maxBodyBytes !== undefined) out.maxBodyBytes = c.integer(o.maxBodyBytes, join(p, 'maxBodyBytes'), 0, Number.MAX_SAFE_INTEGER) ?? null;
  if (o.retryBufferBytes !== undefined) {
    out.retryBufferBytes = c.integer(o.retryBufferBytes, join(p, 'retryBufferBytes'), 0, 16_777_216) ?? out.retryBufferBytes;
  }
  if (o.maxConcurrentStreams !== undefined) {
    out.maxConcurrentStreams = c.integer(o.maxConcurrentStreams, join(p, 'maxConcurrentStreams'), 1, 10_000) ?? out.maxConcurrentStreams;
  }
  if (o.maxResetsPerSecond !== undefined) {
    out.maxResetsPerSecond = c.integer(o.maxResetsPerSecond, join(p, 'maxResetsPerSecond'), 1, 100_000) ?? out.maxResetsPerSecond;
  }
  return out;
}

/**
 * Validates a parsed config document and fills in defaults.
 * Throws ConfigError listing every problem, each with the path of the offending setting.
 */
export function resolveConfig(doc: unknown, source = 'config'): ResolvedProxyConfig {
  const c = new Checker();
  const root = c.object(doc, '', ['$schema', 'inbound', 'outbound', 'admin', 'accessLog', 'limits', 'drainTimeoutMs'], ['admin']);
  if (!root) throw new ConfigError(source, c.issues);

  if (root.$schema !== undefined) c.string(root.$schema, '$schema');
  const limits = checkLimits(c, root.limits);
  const listeners: ResolvedListenerConfig[] = [];
  /** Where each resolved listener came from, for messages about duplicates. */
  const paths = new Map<ResolvedListenerConfig, string>();
  if (Array.isArray(root.inbound)) {
    c.array(root.inbound, 'inbound', (v, p) => {
      // The first listener may go unnamed (it is `inbound`); the others need names.
      const inbound = checkInbound(c, v, limits, p, p === 'inbound[0]' ? 'inbound' : null);
      if (inbound) {
        listeners.push(inbound);
        paths.set(inbound, p);
      }
      return inbound;
    }, { min: 1 });
  } else if (root.inbound !== undefined) {
    const inbound = checkInbound(c, root.inbound, limits);
    if (inbound) {
      listeners.push(inbound);
      paths.set(inbound, 'inbound');
    }
  }
  if (root.outbound !== undefined) {
    c.array(root.outbound, 'outbound', (v, p) => {
      const outbound = checkOutbound(c, v, p, limits);
      if (outbound) {
        listeners.push(outbound);
        paths.set(outbound, p);
      }
      return outbound;
    });
  }

  let admin: Required<AdminConfig> | undefined;
  const a = root.admin === undefined ? undefined : c.object(root.admin, 'admin', ['port', 'address'], ['port']);
  if (a) {
    const adminPort = a.port === undefined ? undefined : port(c, a.port, 'admin.port');
    const address = a.address === undefined ? DEFAULTS.adminAddress : c.ip(a.address, 'admin.address');
    if (adminPort !== undefined && address !== undefined) admin = { port: adminPort, address };
  }

  let accessLog: AccessLogConfig = { enabled: true };
  if (root.accessLog !== undefined) {
    const al = c.object(root.accessLog, 'accessLog', ['enabled', 'tcp'], ['enabled']);
    if (al && al.enabled !== undefined) accessLog = { enabled: c.boolean(al.enabled, 'accessLog.enabled') ?? true };
    const tcp = al?.tcp === undefined ? undefined : c.object(al.tcp, 'accessLog.tcp', ['host', 'port'], ['host', 'port']);
    if (tcp) {
      const host = c.string(tcp.host, 'accessLog.tcp.host', HOST_PATTERN, 'a host name or IP address');
      const tcpPort = port(c, tcp.port, 'accessLog.tcp.port');
      if (host !== undefined && tcpPort !== undefined) accessLog.tcp = { host, port: tcpPort };
    }
  }
  const drainTimeoutMs =
    root.drainTimeoutMs === undefined ? DEFAULTS.drainTimeoutMs : (c.integer(root.drainTimeoutMs, 'drainTimeoutMs', 0, MAX_MS) ?? 0);

  checkSemantics(c, root, listeners, paths, admin);
  if (c.issues.length > 0 || !admin) throw new ConfigError(source, c.issues);
  return { listeners, admin, accessLog, limits, drainTimeoutMs };
}

/** Rules a JSON Schema cannot express: unique names and ports, at least one listener. */
function checkSemantics(
  c: Checker,
  root: Record<string, unknown>,
  listeners: ResolvedListenerConfig[],
  paths: Map<ResolvedListenerConfig, string>,
  admin: Required<AdminConfig> | undefined,
): void {
  if (root.inbound === undefined && (!Array.isArray(root.outbound) || root.outbound.length === 0)) {
    c.fail('(root)', 'needs an inbound listener or at least one outbound listener');
  }
  const names = new Set<string>();
  const ports = new Map<number, string>();
  if (admin && admin.port !== 0) ports.set(admin.port, 'admin.port');
  for (const l of listeners) {
    const path = paths.get(l)!;
    if (names.has(l.name)) c.fail(join(path, 'name'), `duplicates listener name "${l.name}"`);
    names.add(l.name);
    if (l.port === 0) continue; // ephemeral ports never collide
    const other = ports.get(l.port);
    if (other) c.fail(join(path, 'port'), `port ${l.port} is already used by ${other}`);
    else ports.set(l.port, join(path, 'port'));
  }
}

/** Parses JSON text and resolves it; syntax errors become a ConfigError too. */
export function parseConfig(text: string, source = 'config'): ResolvedProxyConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(source, [{ path: '(root)', message: `is not valid JSON (${(err as Error).message})` }]);
  }
  return resolveConfig(doc, source);
}

export async function loadConfigFile(path: string): Promise<{ text: string; config: ResolvedProxyConfig }> {
  const text = await readFile(path, 'utf8');
  return { text, config: parseConfig(text, path) };
}

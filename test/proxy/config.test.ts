import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule, { type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, resolveConfig, type ProxyConfig } from '../../src/proxy/config.js';
import { ROOT } from './helpers/harness.js';

const schema = JSON.parse(readFileSync(join(ROOT, 'schemas/proxy-config.schema.json'), 'utf8')) as object;
// ajv and ajv-formats are CommonJS modules whose module.exports is the class/plugin itself; under
// NodeNext the default import is typed as the module, so name the callable explicitly.
const Ajv = AjvModule as unknown as typeof AjvModule.default;
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;
const ajv = new Ajv({ allErrors: true }); // default strict mode: unknown keywords are errors
addFormats(ajv);
const validateSchema = ajv.compile(schema);

const full: ProxyConfig = {
  $schema: '../schemas/proxy-config.schema.json',
  inbound: {
    port: 15006,
    address: '0.0.0.0',
    target: { host: '127.0.0.1', port: 8080 },
    rateLimit: { rps: 100.5, burst: 200 },
    mtls: {
      mode: 'strict',
      certFile: '/etc/certs/tls.crt',
      keyFile: '/etc/certs/tls.key',
      caFile: '/etc/certs/ca.crt',
      allowedPeers: ['spiffe://cluster.local/ns/shop/sa/frontend', 'frontend.shop.svc', 'spiffe://cluster.local/ns/ops/*'],
    },
    timeouts: { requestMs: 5000, idleMs: 30000, headersMs: 2000 },
    retries: {
      attempts: 3,
      retryOn: ['5xx', 'reset', 'connect-failure', 'retriable-4xx', 'gateway-error', 'timeout'],
      perTryTimeoutMs: 1000,
      backoff: { baseMs: 25, maxMs: 250 },
      budget: { percent: 20, minConcurrency: 3 },
    },
    circuitBreaker: { maxConnections: 100, maxPending: 50, maxRequests: 200, consecutive5xx: 5, ejectionMs: 30000 },
  },
  outbound: [
    { name: 'payments', port: 15001, target: { host: 'payments.shop.svc.cluster.local', port: 443 }, tls: { caFile: '/ca.crt', certFile: '/c.crt', keyFile: '/c.key', serverName: 'payments.shop.svc', expectedSan: ['spiffe://cluster.local/ns/shop/sa/payments'] } },
    { name: 'catalog', port: 15002, address: '127.0.0.1', target: { host: '10.0.0.7', port: 8080 }, hostRewrite: 'catalog', retries: { attempts: 2 } },
  ],
  admin: { port: 15000, address: '127.0.0.1' },
  accessLog: { enabled: true },
  limits: { maxHeaderBytes: 16384, maxHeaders: 100, maxBodyBytes: 10485760, retryBufferBytes: 65536 },
  drainTimeoutMs: 20000,
};

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Applies a mutation to a copy of `full`. */
function variant(mutate: (c: Record<string, any>) => void): unknown {
  const c = clone(full) as Record<string, any>;
  mutate(c);
  return c;
}

const validSamples: [string, unknown][] = [
  ['full example', full],
  ['minimal inbound', { inbound: { port: 8000, target: { host: '127.0.0.1', port: 8080 } }, admin: { port: 15000 } }],
  ['outbound only', { outbound: [{ name: 'a', port: 1, target: { host: 'a', port: 80 } }], admin: { port: 0 } }],
  ['mtls off needs no files', variant((c) => (c.inbound.mtls = { mode: 'off' }))],
  ['permissive', variant((c) => (c.inbound.mtls.mode = 'permissive'))],
  ['server-only origination TLS', variant((c) => (c.outbound[0].tls = { caFile: '/ca.crt' }))],
  ['ipv6 admin', variant((c) => (c.admin.address = '::1'))],
  ['no rate limit, empty sections', variant((c) => { delete c.inbound.rateLimit; c.inbound.retries = {}; c.inbound.timeouts = {}; })],
  ['zero maxPending and budget', variant((c) => { c.inbound.circuitBreaker.maxPending = 0; c.inbound.retries.budget = { percent: 0, minConcurrency: 0 }; })],
];

const invalidSamples: [string, unknown, string][] = [
  ['not an object', [], '(root)'],
  ['admin missing', variant((c) => delete c.admin), 'admin'],
  ['no listener at all', { admin: { port: 1 } }, '(root)'],
  ['empty outbound and no inbound', { admin: { port: 1 }, outbound: [] }, '(root)'],
  ['unknown top-level key', variant((c) => (c.listeners = [])), 'listeners'],
  ['unknown nested key', variant((c) => (c.inbound.retries.maxRetries = 3)), 'inbound.retries.maxRetries'],
  ['port out of range', variant((c) => (c.inbound.port = 70000)), 'inbound.port'],
  ['port not integer', variant((c) => (c.inbound.port = 80.5)), 'inbound.port'],
  ['port as string', variant((c) => (c.admin.port = '15000')), 'admin.port'],
  ['target port 0', variant((c) => (c.inbound.target.port = 0)), 'inbound.target.port'],
  ['target host with space', variant((c) => (c.inbound.target.host = 'bad host')), 'inbound.target.host'],
  ['target missing', variant((c) => delete c.inbound.target), 'inbound.target'],
  ['bad address', variant((c) => (c.inbound.address = 'localhost')), 'inbound.address'],
  ['rps zero', variant((c) => (c.inbound.rateLimit.rps = 0)), 'inbound.rateLimit.rps'],
  ['burst missing', variant((c) => delete c.inbound.rateLimit.burst), 'inbound.rateLimit.burst'],
  ['strict without certFile', variant((c) => delete c.inbound.mtls.certFile), 'inbound.mtls.certFile'],
  ['permissive without caFile', variant((c) => { c.inbound.mtls.mode = 'permissive'; delete c.inbound.mtls.caFile; }), 'inbound.mtls.caFile'],
  ['unknown mtls mode', variant((c) => (c.inbound.mtls.mode = 'required')), 'inbound.mtls.mode'],
  ['allowed peer with space', variant((c) => (c.inbound.mtls.allowedPeers = ['a b'])), 'inbound.mtls.allowedPeers[0]'],
  ['attempts zero', variant((c) => (c.inbound.retries.attempts = 0)), 'inbound.retries.attempts'],
  ['attempts too many', variant((c) => (c.inbound.retries.attempts = 11)), 'inbound.retries.attempts'],
  ['unknown retryOn', variant((c) => (c.inbound.retries.retryOn = ['5xx', '404'])), 'inbound.retries.retryOn[1]'],
  ['duplicate retryOn', variant((c) => (c.inbound.retries.retryOn = ['5xx', '5xx'])), 'inbound.retries.retryOn[1]'],
  ['negative perTry', variant((c) => (c.inbound.retries.perTryTimeoutMs = -1)), 'inbound.retries.perTryTimeoutMs'],
  ['duration as string', variant((c) => (c.inbound.timeouts.requestMs = '2s')), 'inbound.timeouts.requestMs'],
  ['backoff incomplete', variant((c) => (c.inbound.retries.backoff = { baseMs: 10 })), 'inbound.retries.backoff.maxMs'],
  ['budget percent > 100', variant((c) => (c.inbound.retries.budget.percent = 150)), 'inbound.retries.budget.percent'],
  ['maxConnections zero', variant((c) => (c.inbound.circuitBreaker.maxConnections = 0)), 'inbound.circuitBreaker.maxConnections'],
  ['outbound without name', variant((c) => delete c.outbound[1].name), 'outbound[1].name'],
  ['outbound name uppercase', variant((c) => (c.outbound[1].name = 'Catalog')), 'outbound[1].name'],
  ['outbound named inbound', variant((c) => (c.outbound[1].name = 'inbound')), 'outbound[1].name'],
  ['outbound tls without caFile', variant((c) => delete c.outbound[0].tls.caFile), 'outbound[0].tls.caFile'],
  ['outbound tls cert without key', variant((c) => delete c.outbound[0].tls.keyFile), 'outbound[0].tls.keyFile'],
  ['expectedSan empty', variant((c) => (c.outbound[0].tls.expectedSan = [])), 'outbound[0].tls.expectedSan'],
  ['accessLog.enabled not boolean', variant((c) => (c.accessLog.enabled = 'yes')), 'accessLog.enabled'],
  ['maxHeaderBytes too small', variant((c) => (c.limits.maxHeaderBytes = 100)), 'limits.maxHeaderBytes'],
  ['drainTimeoutMs negative', variant((c) => (c.drainTimeoutMs = -5)), 'drainTimeoutMs'],
];

function ajvPaths(): string[] {
  return (validateSchema.errors ?? []).map((e: ErrorObject) => {
    const base = e.instancePath
      .split('/')
      .slice(1)
      .map((p: string) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
      .join('')
      .replace(/^\./, '');
    const missing = (e.params as { missingProperty?: string; additionalProperty?: string }).missingProperty ?? (e.params as { additionalProperty?: string }).additionalProperty;
    return missing ? (base ? `${base}.${missing}` : missing) : base || '(root)';
  });
}

describe('config validation', () => {
  it.each(validSamples)('accepts %s (schema and runtime agree)', (_name, doc) => {
    const schemaOk = validateSchema(doc);
    expect(validateSchema.errors ?? []).toEqual([]);
    expect(schemaOk).toBe(true);
    expect(() => resolveConfig(doc)).not.toThrow();
  });

  it.each(invalidSamples)('rejects %s (schema and runtime agree, path named)', (_name, doc, path) => {
    expect(validateSchema(doc)).toBe(false);
    let error: ConfigError | undefined;
    try {
      resolveConfig(doc, 'test.json');
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const paths = error!.issues.map((i) => i.path);
    expect(paths).toContain(path);
    expect(error!.message).toContain(path);
    // ajv points at the same setting (or, for unions like the root anyOf, at its parent).
    expect(ajvPaths().some((p) => p === path || path.startsWith(p) || p === '(root)')).toBe(true);
  });

  it('rejects what the schema cannot express: duplicate names and ports', () => {
    const dupName = variant((c) => (c.outbound[1].name = 'payments'));
    const dupPort = variant((c) => (c.outbound[1].port = 15006));
    const adminClash = variant((c) => (c.admin.port = 15001));
    expect(validateSchema(dupName)).toBe(true);
    expect(() => resolveConfig(dupName)).toThrow(/outbound\[1\]\.name: duplicates listener name "payments"/);
    expect(() => resolveConfig(dupPort)).toThrow(/outbound\[1\]\.port: port 15006 is already used by inbound\.port/);
    expect(() => resolveConfig(adminClash)).toThrow(/port 15001 is already used by admin\.port/);
  });

  it('takes tcp and tls listeners, and refuses retries on them', () => {
    const target = { host: '127.0.0.1', port: 6379 };
    const doc = {
      admin: { port: 15000 },
      inbound: [
        { port: 15006, target: { ...target, port: 8080 } },
        { name: 'inbound-6379', protocol: 'tcp', port: 15007, target, rateLimit: { rps: 10, burst: 20 }, circuitBreaker: { maxConnections: 100 }, timeouts: { idleMs: 3600000 } },
        { name: 'inbound-8443', protocol: 'tls', port: 15008, target: { ...target, port: 8443 } },
      ],
    };
    expect(validateSchema(doc)).toBe(true);
    expect(resolveConfig(doc).listeners.map((l) => [l.name, l.protocol])).toEqual([
      ['inbound', 'http'],
      ['inbound-6379', 'tcp'],
      ['inbound-8443', 'tls'],
    ]);
    const withRetries = { ...doc, inbound: [doc.inbound[0], { ...doc.inbound[1], retries: { attempts: 2 } }] };
    expect(validateSchema(withRetries)).toBe(false);
    expect(() => resolveConfig(withRetries)).toThrow(/inbound\[1\]\.retries: does not apply to a tcp listener/);
    // Retries stay fine on an explicit http listener.
    const httpRetries = { ...doc, inbound: [{ ...doc.inbound[0], protocol: 'http', retries: { attempts: 2 } }] };
    expect(validateSchema(httpRetries)).toBe(true);
    expect(resolveConfig(httpRetries).listeners[0]!.retries.attempts).toBe(2);
    const unknown = { ...doc, inbound: [{ ...doc.inbound[0], protocol: 'udp' }] };
    expect(validateSchema(unknown)).toBe(false);
    expect(() => resolveConfig(unknown)).toThrow(/inbound\[0\]\.protocol: must be one of "http", "http2", "grpc", "tcp", "tls", "detect"/);
  });

  it('takes one inbound listener per app port, named, with HTTP/2 and gRPC ones; and detect ones', () => {
    const target = { host: '127.0.0.1', port: 8080 };
    const several = { admin: { port: 15000 }, inbound: [{ port: 15006, target }, { name: 'inbound-9090', protocol: 'http', port: 15007, target: { ...target, port: 9090 } }] };
    expect(validateSchema(several)).toBe(true);
    expect(resolveConfig(several).listeners.map((l) => [l.name, l.kind, l.port, l.target.port])).toEqual([
      ['inbound', 'inbound', 15006, 8080],
      ['inbound-9090', 'inbound', 15007, 9090],
    ]);
    const unnamed = { ...several, inbound: [several.inbound[0], { port: 15007, target }] };
    expect(() => resolveConfig(unnamed)).toThrow(/inbound\[1\]\.name: .*required|inbound\[1\]: .*name/);
    const grpc = { ...several, inbound: [{ ...several.inbound[0], protocol: 'grpc', retries: { attempts: 3, retryOn: ['unavailable', 'resource-exhausted'] } }, { ...several.inbound[1], protocol: 'http2' }] };
    expect(validateSchema(grpc)).toBe(true);
    expect(resolveConfig(grpc).listeners.map((l) => [l.protocol, l.retries.retryOn])).toEqual([
      ['grpc', ['unavailable', 'resource-exhausted']],
      ['http2', ['connect-failure', 'reset', 'gateway-error']],
    ]);
    const detect = { ...several, inbound: [{ ...several.inbound[0], protocol: 'detect', retries: { attempts: 2 } }] };
    expect(validateSchema(detect)).toBe(true);
    expect(resolveConfig(detect).listeners[0]!.protocol).toBe('detect');
    const outboundGrpc = { admin: { port: 15000 }, outbound: [{ name: 'pay', protocol: 'grpc', port: 15001, target }, { name: 'db', protocol: 'tcp', port: 15002, target }] };
    expect(validateSchema(outboundGrpc)).toBe(true);
    expect(resolveConfig(outboundGrpc).listeners.map((l) => l.protocol)).toEqual(['grpc', 'tcp']);
    const tcpRetries = { ...outboundGrpc, outbound: [{ ...outboundGrpc.outbound[1], retries: { attempts: 2 } }] };
    expect(validateSchema(tcpRetries)).toBe(false);
    expect(() => resolveConfig(tcpRetries)).toThrow(/outbound\[0\]\.retries: does not apply to a tcp listener/);
    const limits = { ...several, limits: { maxConcurrentStreams: 0 } };
    expect(validateSchema(limits)).toBe(false);
    expect(() => resolveConfig(limits)).toThrow(/limits\.maxConcurrentStreams/);
    const samePort = { ...several, inbound: [several.inbound[0], { ...several.inbound[1], port: 15006 }] };
    expect(() => resolveConfig(samePort)).toThrow(/inbound\[1\]\.port: port 15006 is already used by inbound\[0\]\.port/);
    expect(() => resolveConfig({ ...several, inbound: [] })).toThrow(/inbound: must have at least 1/);
  });

  it('reports JSON syntax errors and lists every problem at once', () => {
    expect(() => parseConfig('{ nope', 'x.json')).toThrow(/invalid proxy config x\.json: \(root\): is not valid JSON/);
    try {
      resolveConfig(variant((c) => { c.inbound.port = -1; c.admin.port = 'x'; }));
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).issues.map((i) => i.path).sort()).toEqual(['admin.port', 'inbound.port']);
    }
  });

  it('fills in defaults', () => {
    const c = resolveConfig({
      inbound: { port: 8000, target: { host: '127.0.0.1', port: 8080 } },
      outbound: [{ name: 'api', port: 9000, target: { host: 'api.svc', port: 8443 }, tls: { caFile: '/ca' } }],
      admin: { port: 15000 },
    });
    const [inbound, api] = c.listeners;
    expect(inbound!.address).toBe('0.0.0.0');
    expect(inbound!.timeouts).toEqual({ requestMs: 15000, idleMs: 60000, headersMs: 10000 });
    expect(inbound!.retries.attempts).toBe(1);
    expect(inbound!.circuitBreaker.consecutive5xx).toBe(0);
    expect(inbound!.mtls).toBeNull();
    expect(api!.address).toBe('127.0.0.1');
    expect(api!.hostRewrite).toBe('api.svc:8443');
    expect(api!.tls).toEqual({ certFile: null, keyFile: null, caFile: '/ca', serverName: 'api.svc', expectedSan: [] });
    expect(c.admin.address).toBe('127.0.0.1');
    expect(c.accessLog.enabled).toBe(true);
    expect(c.drainTimeoutMs).toBe(15000);
    expect(c.limits.maxHeaders).toBe(100);
    const v6 = resolveConfig({ outbound: [{ name: 'v6', port: 1, target: { host: '::1', port: 8080 } }], admin: { port: 0 } });
    expect(v6.listeners[0]!.hostRewrite).toBe('[::1]:8080');
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEPRECATED_PREFIX, loadEnvoyValidator, schemaForTests, type EnvoyValidator } from '../../src/validate/envoy.js';
import { formatPath, type ConfigIssue } from '../../src/validate/issue.js';

/** A bootstrap in the shape sidecarctl generates: inbound TLS listener, rate limit, retries, static/DNS clusters. */
const VALID_BOOTSTRAP = `
admin:
  address:
    socket_address: { address: 127.0.0.1, port_value: 15000 }
node:
  id: web-7d9f
  cluster: web
static_resources:
  listeners:
    - name: inbound
      address:
        socket_address: { address: 0.0.0.0, port_value: 15006 }
      listener_filters:
        - name: envoy.filters.listener.tls_inspector
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector
      filter_chains:
        - transport_socket:
            name: envoy.transport_sockets.tls
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
              require_client_certificate: true
              common_tls_context:
                tls_certificate_sds_secret_configs:
                  - name: server_cert
                    sds_config:
                      path_config_source: { path: /etc/envoy/sds/server_cert.yaml }
                      resource_api_version: V3
                validation_context_sds_secret_config:
                  name: trusted_ca
                  sds_config:
                    path_config_source: { path: /etc/envoy/sds/trusted_ca.yaml }
                    resource_api_version: V3
          filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: inbound_http
                codec_type: AUTO
                access_log:
                  - name: envoy.access_loggers.stdout
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
                      log_format:
                        json_format:
                          start_time: "%START_TIME%"
                          method: "%REQ(:METHOD)%"
                          path: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"
                          status: "%RESPONSE_CODE%"
                          duration_ms: "%DURATION%"
                route_config:
                  name: local
                  virtual_hosts:
                    - name: app
                      domains: ["*"]
                      routes:
                        - match: { prefix: / }
                          route:
                            cluster: local_app
                            timeout: 15s
                            retry_policy:
                              retry_on: 5xx,connect-failure,reset
                              num_retries: 3
                              per_try_timeout: 0.250s
                              retry_back_off:
                                base_interval: 0.025s
                                max_interval: 0.250s
                http_filters:
                  - name: envoy.filters.http.local_ratelimit
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
                      stat_prefix: http_local_rate_limiter
                      token_bucket:
                        max_tokens: 100
                        tokens_per_fill: 100
                        fill_interval: 1s
                      filter_enabled:
                        runtime_key: local_rate_limit_enabled
                        default_value: { numerator: 100, denominator: HUNDRED }
                      filter_enforced:
                        runtime_key: local_rate_limit_enforced
                        default_value: { numerator: 100, denominator: HUNDRED }
                      response_headers_to_add:
                        - append_action: OVERWRITE_IF_EXISTS_OR_ADD
                          header: { key: x-local-rate-limit, value: "true" }
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
    - name: local_app
      type: STATIC
      connect_timeout: 1s
      circuit_breakers:
        thresholds:
          - priority: DEFAULT
            max_connections: 1024
            max_pending_requests: 1024
            max_requests: 1024
            max_retries: 3
      outlier_detection:
        consecutive_5xx: 5
        interval: 10s
        base_ejection_time: 30s
        max_ejection_percent: 50
      load_assignment:
        cluster_name: local_app
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: { address: 127.0.0.1, port_value: 8080 }
    - name: upstream_api
      type: STRICT_DNS
      dns_lookup_family: V4_ONLY
      connectTimeout: 2.5s
      lbPolicy: ROUND_ROBIN
      loadAssignment:
        clusterName: upstream_api
        endpoints:
          - lbEndpoints:
              - endpoint:
                  address:
                    socketAddress: { address: api.default.svc.cluster.local, portValue: 443 }
`;

const bootstrap = (): Record<string, any> => parse(VALID_BOOTSTRAP) as Record<string, any>;

// Short-hands into the parsed bootstrap, so each negative case mutates exactly one thing.
const listener = (b: Record<string, any>) => b.static_resources.listeners[0];
const hcm = (b: Record<string, any>) => listener(b).filter_chains[0].filters[0].typed_config;
const route = (b: Record<string, any>) => hcm(b).route_config.virtual_hosts[0].routes[0];
const cluster = (b: Record<string, any>) => b.static_resources.clusters[0];

const HCM_PATH = ['static_resources', 'listeners', 0, 'filter_chains', 0, 'filters', 0, 'typed_config'];
const ROUTE_PATH = [...HCM_PATH, 'route_config', 'virtual_hosts', 0, 'routes', 0];
const RATELIMIT_PATH = [...HCM_PATH, 'http_filters', 0, 'typed_config'];
const CLUSTER_PATH = ['static_resources', 'clusters', 0];

let validator: EnvoyValidator;

beforeAll(async () => {
  validator = await loadEnvoyValidator();
});

/** Validates, asserting that exactly one issue is found; returns it. */
function singleIssue(b: unknown): ConfigIssue {
  const issues = validator.validateBootstrap(b);
  expect(issues.map((i) => `${formatPath(i.path)}: ${i.message}`)).toHaveLength(1);
  return issues[0]!;
}

describe('loadEnvoyValidator', () => {
  it('caches the validator: a second call returns the same instance at once', async () => {
    const start = performance.now();
    const again = await loadEnvoyValidator();
    expect(again).toBe(validator);
    expect(performance.now() - start).toBeLessThan(50); // generous: only guards against reloading
  });

  it('has an up-to-date disk cache (bump SCHEMA_FORMAT when the schema extraction changes)', () => {
    const start = performance.now();
    const fresh = schemaForTests.fresh();
    const parseMs = performance.now() - start;
    expect(schemaForTests.cached()).toEqual(fresh);
    // Uncached parsing of ~400 protos takes a few hundred ms; keep an eye on regressions.
    expect(parseMs).toBeLessThan(2000);
  });

  it('only skips protos whose third-party imports are not shipped', () => {
    for (const note of validator.notes) expect(note).toMatch(/import not found: (opencensus|opentelemetry|io\/prometheus)\//);
  });

  it.each([
    'envoy.extensions.filters.http.router.v3.Router',
    'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
    'envoy.extensions.filters.http.rbac.v3.RBAC',
    'envoy.extensions.filters.http.health_check.v3.HealthCheck',
    'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
    'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
    'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
    'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
    'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
    'envoy.extensions.access_loggers.file.v3.FileAccessLog',
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  ])('loads %s', (type) => {
    expect(() => validator.validate(type, {})).not.toThrow();
  });

  it('rejects an unknown message type name', () => {
    expect(() => validator.validate('envoy.config.bootstrap.v3.Nope', {})).toThrow(/Unknown Envoy message type/);
  });
});

describe('a realistic bootstrap', () => {
  it('has no issues', () => {
    expect(validator.validateBootstrap(bootstrap())).toEqual([]);
  });

  it('validates other message types directly', () => {
    expect(validator.validate('envoy.config.cluster.v3.Cluster', cluster(bootstrap()))).toEqual([]);
    expect(validator.validate('envoy.config.cluster.v3.Cluster', {})).toEqual([
      { path: [], message: expect.stringMatching(/^missing field "name"/) },
    ]);
  });
});

describe('proto3 JSON mapping', () => {
  it('rejects an unknown field and suggests the closest one', () => {
    const b = bootstrap();
    cluster(b).conect_timeout = '1s';
    const issue = singleIssue(b);
    expect(issue.path).toEqual([...CLUSTER_PATH, 'conect_timeout']);
    expect(issue.message).toMatch(/unknown field "conect_timeout" in envoy.config.cluster.v3.Cluster \(did you mean "connect_timeout"\?\)/);
  });

  it('rejects a misspelled field inside an Any payload', () => {
    const b = bootstrap();
    hcm(b).http_filters[0].typed_config.token_bucket.max_token = 5;
    const issue = singleIssue(b);
    expect(issue.path).toEqual([...RATELIMIT_PATH, 'token_bucket', 'max_token']);
    expect(issue.message).toMatch(/unknown field "max_token" in envoy.type.v3.TokenBucket/);
  });

  it('rejects an unknown @type', () => {
    const b = bootstrap();
    hcm(b).http_filters[1].typed_config['@type'] = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Routr';
    const issue = singleIssue(b);
    expect(issue.path).toEqual([...HCM_PATH, 'http_filters', 1, 'typed_config', '@type']);
    expect(issue.message).toMatch(/unknown @type envoy.extensions.filters.http.router.v3.Routr/);
  });

  it('rejects a type URL without the type.googleapis.com/ prefix', () => {
    const b = bootstrap();
    hcm(b).http_filters[1].typed_config['@type'] = 'envoy.extensions.filters.http.router.v3.Router';
    expect(singleIssue(b).path).toEqual([...HCM_PATH, 'http_filters', 1, 'typed_config', '@type']);
  });

  it('rejects an unknown enum value but accepts defined numbers', () => {
    const b = bootstrap();
    cluster(b).type = 'STATIK';
    const issue = singleIssue(b);
    expect(issue.path).toEqual([...CLUSTER_PATH, 'type']);
    expect(issue.message).toMatch(/invalid value string "STATIK" for enum envoy.config.cluster.v3.Cluster.DiscoveryType/);

    cluster(b).type = 0; // STATIC
    expect(validator.validateBootstrap(b)).toEqual([]);
    cluster(b).type = 'static'; // Envoy parses enums with case_insensitive_enum_parsing
    expect(validator.validateBootstrap(b)).toEqual([]);
    cluster(b).type = 42;
    expect(singleIssue(b).path).toEqual([...CLUSTER_PATH, 'type']);
  });

  it('rejects a duration that is not in seconds', () => {
    const b = bootstrap();
    route(b).route.retry_policy.per_try_timeout = '250ms';
    const issue = singleIssue(b);
    expect(issue.path).toEqual([...ROUTE_PATH, 'route', 'retry_policy', 'per_try_timeout']);
    expect(issue.message).toMatch(/expected a duration string like "1.5s", got string "250ms" \(write e.g. "0.250s"/);
  });

  it('rejects negative durations like Envoy does (validateDurationFields)', () => {
    const b = bootstrap();
    cluster(b).connect_timeout = '-1s';
    const issue = singleIssue(b);
    expect(issue.path).toEqual([...CLUSTER_PATH, 'connect_timeout']);
    expect(issue.message).toMatch(/negative/);
  });

  it('rejects two members of a oneof', () => {
    const b = bootstrap();
    route(b).redirect = { path_redirect: '/elsewhere' };
    const issue = singleIssue(b);
    expect(issue.path).toEqual([...ROUTE_PATH, 'redirect']);
    expect(issue.message).toMatch(/"redirect" conflicts with "route": both belong to oneof "action"/);
  });

  it('rejects a negative value for an unsigned wrapper (num_retries)', () => {
    const b = bootstrap();
    route(b).route.retry_policy.num_retries = -1;
    const issue = singleIssue(b);
    expect(issue.path).toEqual([...ROUTE_PATH, 'route', 'retry_policy', 'num_retries']);
    expect(issue.message).toMatch(/out of range for uint32/);
  });

  it('rejects a string where an object is expected', () => {
    const b = bootstrap();
    cluster(b).outlier_detection = 'yes please';
    const issue = singleIssue(b);
    expect(issue.path).toEqual([...CLUSTER_PATH, 'outlier_detection']);
    expect(issue.message).toMatch(/expected an object \(envoy.config.cluster.v3.OutlierDetection\), got string/);
  });

  it('rejects a string where a number or list is expected', () => {
    const b = bootstrap();
    cluster(b).circuit_breakers.thresholds[0].max_connections = 'lots';
    hcm(b).route_config.virtual_hosts[0].domains = '*';
    const issues = validator.validateBootstrap(b);
    expect(issues.map((i) => i.path)).toEqual([
      [...HCM_PATH, 'route_config', 'virtual_hosts', 0, 'domains'],
      [...CLUSTER_PATH, 'circuit_breakers', 'thresholds', 0, 'max_connections'],
    ]);
  });

  it('accepts 64-bit integers as decimal strings and bytes as base64', () => {
    const b = bootstrap();
    cluster(b).lb_policy = 'RING_HASH';
    cluster(b).ring_hash_lb_config = { minimum_ring_size: '1024', maximum_ring_size: 8388608 };
    b.static_resources.secrets = [{ name: 'ca', validation_context: { trusted_ca: { inline_bytes: 'LS0tLS1CRUdJTg==' } } }];
    expect(validator.validateBootstrap(b)).toEqual([]);

    b.static_resources.secrets[0].validation_context.trusted_ca.inline_bytes = 'not base64!';
    expect(singleIssue(b).path).toEqual(['static_resources', 'secrets', 0, 'validation_context', 'trusted_ca', 'inline_bytes']);
  });

  it('compares 64-bit values exactly, beyond 2^53', () => {
    const b = bootstrap();
    cluster(b).lb_policy = 'RING_HASH';
    cluster(b).ring_hash_lb_config = { maximum_ring_size: '18446744073709551615' }; // uint64 max, PGV lte 8388608
    expect(singleIssue(b)).toEqual({
      path: [...CLUSTER_PATH, 'ring_hash_lb_config', 'maximum_ring_size'],
      message: 'must be <= 8388608, got 18446744073709551615',
    });
    cluster(b).ring_hash_lb_config = { maximum_ring_size: '18446744073709551616' };
    expect(singleIssue(b).message).toMatch(/out of range for uint64/);
  });

  it('rejects the same field given in snake_case and camelCase', () => {
    const b = bootstrap();
    cluster(b).connectTimeout = '2s';
    expect(singleIssue(b).message).toMatch(/given twice/);
  });

  it('uses the well-known-type JSON form inside an Any', () => {
    const value = { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '1s' };
    expect(validator.validate('envoy.config.core.v3.TypedExtensionConfig', { name: 'x', typed_config: value })).toEqual([]);
    const bad = { name: 'x', typed_config: { ...value, value: '1000ms' } };
    expect(validator.validate('envoy.config.core.v3.TypedExtensionConfig', bad)).toEqual([
      { path: ['typed_config', 'value'], message: expect.stringMatching(/expected a duration/) },
    ]);
  });

  it('validates the payload of a TypedStruct against its type_url', () => {
    const config = {
      name: 'envoy.filters.http.router',
      typed_config: {
        '@type': 'type.googleapis.com/xds.type.v3.TypedStruct',
        type_url: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
        value: { suppress_envoy_headers: true, dynamic_stats: 'yes' },
      },
    };
    expect(validator.validate('envoy.config.core.v3.TypedExtensionConfig', config)).toEqual([
      { path: ['typed_config', 'value', 'dynamic_stats'], message: expect.stringMatching(/expected bool/) },
    ]);
  });
});

describe('protoc-gen-validate rules', () => {
  it('requires a cluster name (string min_len on an absent field)', () => {
    const b = bootstrap();
    delete cluster(b).name;
    const issue = singleIssue(b);
    expect(issue.path).toEqual(CLUSTER_PATH);
    expect(issue.message).toMatch(/^missing field "name": must not be empty/);
  });

  it('requires one of the route actions (required oneof)', () => {
    const b = bootstrap();
    delete route(b).route;
    const issue = singleIssue(b);
    expect(issue.path).toEqual(ROUTE_PATH);
    expect(issue.message).toMatch(/one of "route", "redirect", "direct_response".* is required \(oneof "action"/);
  });

  it('requires the route match (message.required)', () => {
    const b = bootstrap();
    delete route(b).match;
    const issue = singleIssue(b);
    expect(issue.path).toEqual(ROUTE_PATH);
    expect(issue.message).toBe('missing field "match": value is required');
  });

  it('bounds port_value to 65535 (uint32 lte)', () => {
    const b = bootstrap();
    b.admin.address.socket_address.port_value = 70000;
    const issue = singleIssue(b);
    expect(issue.path).toEqual(['admin', 'address', 'socket_address', 'port_value']);
    expect(issue.message).toBe('must be <= 65535, got 70000');
  });

  it('rejects an empty stat_prefix (string min_len on a present field)', () => {
    const b = bootstrap();
    hcm(b).stat_prefix = '';
    const issue = singleIssue(b);
    expect(issue.path).toEqual([...HCM_PATH, 'stat_prefix']);
    expect(issue.message).toMatch(/must not be empty/);
  });

  it('checks duration bounds and presence (token bucket fill_interval: required, > 0)', () => {
    const b = bootstrap();
    const bucket = hcm(b).http_filters[0].typed_config.token_bucket;
    bucket.fill_interval = '0s';
    expect(singleIssue(b)).toEqual({ path: [...RATELIMIT_PATH, 'token_bucket', 'fill_interval'], message: 'must be > 0s, got 0s' });
    delete bucket.fill_interval;
    expect(singleIssue(b)).toEqual({ path: [...RATELIMIT_PATH, 'token_bucket'], message: 'missing field "fill_interval": value is required' });
  });

  it('applies uint32 rules to wrapper values (tokens_per_fill > 0)', () => {
    const b = bootstrap();
    hcm(b).http_filters[0].typed_config.token_bucket.tokens_per_fill = 0;
    expect(singleIssue(b).path).toEqual([...RATELIMIT_PATH, 'token_bucket', 'tokens_per_fill']);
  });

  it('checks repeated min_items and item rules', () => {
    const b = bootstrap();
    hcm(b).route_config.virtual_hosts[0].domains = [];
    expect(singleIssue(b)).toEqual({
      path: [...HCM_PATH, 'route_config', 'virtual_hosts', 0, 'domains'],
      message: 'must have at least 1 item(s), got 0',
    });
    const router = { strict_check_headers: ['x-envoy-max-retries', 'x-envoy-nope'] };
    expect(validator.validate('envoy.extensions.filters.http.router.v3.Router', router)).toEqual([
      { path: ['strict_check_headers', 1], message: expect.stringMatching(/^must be one of "x-envoy-upstream-rq-timeout-ms"/) },
    ]);
  });

  it('checks HTTP header names (well_known_regex, strict and lenient)', () => {
    // HeaderValue.key is declared with `strict: false`: only NUL, CR and LF are rejected.
    const b = bootstrap();
    const header = hcm(b).http_filters[0].typed_config.response_headers_to_add[0].header;
    header.key = 'x-odd header';
    expect(validator.validateBootstrap(b)).toEqual([]);
    header.key = 'x-bad\r\nheader';
    const issue = singleIssue(b);
    expect(issue.path).toEqual([...RATELIMIT_PATH, 'response_headers_to_add', 0, 'header', 'key']);
    expect(issue.message).toMatch(/valid HTTP header name/);

    // Generic.header uses the strict RFC 7230 token grammar, and ignore_empty.
    const generic = (h: string) => ({ credential: { name: 'token' }, header: h });
    const type = 'envoy.extensions.http.injected_credentials.generic.v3.Generic';
    expect(validator.validate(type, generic(''))).toEqual([]);
    expect(validator.validate(type, generic('x-api-key'))).toEqual([]);
    expect(validator.validate(type, generic('x api key'))).toEqual([
      { path: ['header'], message: 'must be a valid HTTP header name, got "x api key"' },
    ]);
  });

  it('applies several rule kinds declared on one field (Buffer.max_request_bytes: uint32 > 0 and required)', () => {
    const type = 'envoy.extensions.filters.http.buffer.v3.Buffer';
    expect(validator.validate(type, { max_request_bytes: 1024 })).toEqual([]);
    expect(validator.validate(type, {})).toEqual([{ path: [], message: 'missing field "max_request_bytes": value is required' }]);
    expect(validator.validate(type, { max_request_bytes: 0 })).toEqual([{ path: ['max_request_bytes'], message: 'must be > 0, got 0' }]);
  });

  it('checks enum defined_only / not_in', () => {
    const b = bootstrap();
    b.static_resources.clusters[0].circuit_breakers.thresholds[0].priority = 'URGENT';
    expect(singleIssue(b).path).toEqual([...CLUSTER_PATH, 'circuit_breakers', 'thresholds', 0, 'priority']);
  });
});

describe('deprecation', () => {
  it('reports deprecated fields with the deprecated: prefix', () => {
    const b = bootstrap();
    cluster(b).max_requests_per_connection = 100;
    const issue = singleIssue(b);
    expect(issue.path).toEqual([...CLUSTER_PATH, 'max_requests_per_connection']);
    expect(issue.message.startsWith(DEPRECATED_PREFIX)).toBe(true);
    expect(issue.message).toMatch(/since API 3.0/);
  });

  it('reports disallowed-by-default enum values as errors', () => {
    const zipkin = { collector_cluster: 'zipkin', collector_endpoint: '/api/v2/spans', collector_endpoint_version: 'DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE' };
    const issues = validator.validate('envoy.config.trace.v3.ZipkinConfig', zipkin);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toEqual(['collector_endpoint_version']);
    expect(issues[0]!.message.startsWith(DEPRECATED_PREFIX)).toBe(false);
    expect(issues[0]!.message).toMatch(/disallowed by default/);
  });
});

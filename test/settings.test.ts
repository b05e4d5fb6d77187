import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UserError } from '../src/errors.js';
import { OPTIONS, parsePeerId, parseUpstream, parseUpstreamMtls } from '../src/settings/options.js';
import { parseProfile } from '../src/settings/profile.js';
import { resolveSettings } from '../src/settings/resolve.js';
import { tokenBucket } from '../src/sidecars/envoy/config.js';
import { parseDuration, protoDuration } from '../src/units.js';

describe('units', () => {
  it('parses durations users type and prints protobuf durations Envoy accepts', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1.5s')).toBe(1500);
    for (const bad of ['5', '2 s', 's', '-1s', '0s']) expect(() => parseDuration(bad)).toThrow();
    expect(protoDuration(250)).toBe('0.250s');
    expect(protoDuration(2000)).toBe('2s');
  });

  it('fills token buckets smoothly with whole tokens', () => {
    expect(tokenBucket(100, 200)).toEqual({ maxTokens: 200, tokensPerFill: 5, fillInterval: '0.050s' });
    expect(tokenBucket(3, 3)).toEqual({ maxTokens: 3, tokensPerFill: 3, fillInterval: '1s' });
    expect(tokenBucket(10, 10)).toEqual({ maxTokens: 10, tokensPerFill: 1, fillInterval: '0.100s' });
  });
});

describe('settings', () => {
  it('parses upstreams with an optional protocol and local port', () => {
    expect(parseUpstream('pay=pay.svc:8080')).toEqual({ name: 'pay', protocol: 'http', host: 'pay.svc', port: 8080, localPort: 8080 });
    expect(parseUpstream('pay=pay.svc:8080@19000').localPort).toBe(19000);
    expect(parseUpstream('pay=grpc://pay.svc:9090@19001')).toEqual({ name: 'pay', protocol: 'grpc', host: 'pay.svc', port: 9090, localPort: 19001 });
    expect(parseUpstream('db=tcp://pg.svc:5432').protocol).toBe('tcp');
    expect(() => parseUpstream('db=postgres://pg.svc:5432')).toThrow(/NAME=\[http\|http2\|grpc\|tcp:\/\/\]HOST:PORT/);
    expect(() => parseUpstream('Pay=pay.svc:8080')).toThrow(/HOST:PORT/);
    expect(() => parseUpstream('pay=pay.svc:99999')).toThrow(/not a port/);
  });

  it('layers defaults < profile < annotations < flags, lists replaced not merged', () => {
    const s = resolveSettings([
      [{ key: 'retries', value: 1, file: 'p', line: 1 }, { key: 'upstream', value: 'a=a:1', file: 'p', line: 2 }],
      [{ key: 'retries', value: '2', file: 'd', line: 9 }],
      [{ key: 'upstream', value: 'b=b:2', flag: '--upstream' }],
    ]);
    expect(s.retries).toBe(2);
    expect(s.upstreams.map((u) => u.name)).toEqual(['b']);
    expect(s.proxyPort).toBe(15006);
  });

  it('reports a bad value at its source', () => {
    const attempt = () => resolveSettings([[{ key: 'rate-limit', value: '0', file: 'deploy.yaml', line: 12 }]]);
    expect(attempt).toThrow(UserError);
    try {
      attempt();
    } catch (error) {
      expect((error as UserError).format()).toBe('deploy.yaml:12: rate-limit: 0 must be at least 1');
    }
  });

  it('rejects combinations that cannot work', () => {
    expect(() => resolveSettings([[{ key: 'upstream', value: 'x=x:15006', flag: '--upstream' }]])).toThrow(/which is the proxy port/);
    expect(() => resolveSettings([[{ key: 'burst', value: '5', flag: '--burst' }]])).toThrow(/--burst needs --rate-limit/);
    expect(() => resolveSettings([[{ key: 'mtls', value: 'permissive', flag: '--mtls' }]])).toThrow(/certificate source/);
  });

  it('reads profiles with line numbers and refuses unknown keys', () => {
    const profile = parseProfile('.sidecarctl.yaml', 'retries: 2\nupstream:\n  - a=a.svc:80\nlint:\n  ignore: [x]\n');
    expect(profile.layer).toEqual([
      { key: 'retries', value: 2, file: '.sidecarctl.yaml', line: 1 },
      { key: 'upstream', value: 'a=a.svc:80', file: '.sidecarctl.yaml', line: 3 },
    ]);
    expect(profile.sections.lint).toEqual({ ignore: ['x'] });
    expect(() => parseProfile('.sidecarctl.yaml', 'retries: 2\nretrys: 3\n')).toThrow(/unknown setting "retrys"/);
  });

  it('parses peer identities and mTLS upstreams, and refuses malformed ones', () => {
    expect(parsePeerId('frontend')).toEqual({ serviceAccount: 'frontend' });
    expect(parsePeerId('ops/prober')).toEqual({ namespace: 'ops', serviceAccount: 'prober' });
    expect(parsePeerId('spiffe://example.org/ns/a/sa/b')).toEqual({ spiffe: 'spiffe://example.org/ns/a/sa/b' });
    for (const bad of ['spiffe://example.org', 'spiffe://Bad_Domain/x', 'a/b/c', 'Ops/prober', '']) expect(() => parsePeerId(bad)).toThrow();
    expect(parseUpstreamMtls('api')).toEqual({ name: 'api' });
    expect(parseUpstreamMtls('api=prod/api')).toEqual({ name: 'api', identity: 'prod/api' });
    expect(() => parseUpstreamMtls('API')).toThrow(/NAME or NAME=IDENTITY/);
  });

  it('layers upstream-mtls like other lists and checks it against the upstreams', () => {
    const s = resolveSettings([
      [{ key: 'upstream', value: 'a=a:1', file: 'p', line: 1 }, { key: 'upstream-mtls', value: 'a', file: 'p', line: 2 }, { key: 'mtls-secret', value: '{workload}-tls', file: 'p', line: 3 }],
    ]);
    expect(s.upstreamMtls).toEqual([{ name: 'a' }]);
    expect(s.mtlsSecret).toBe('{workload}-tls');
    const unknown = () => resolveSettings([[{ key: 'upstream-mtls', value: 'b', file: 'deploy.yaml', line: 7 }, { key: 'mtls-issuer', value: 'ca', flag: '--mtls-issuer' }]]);
    expect(unknown).toThrow(/upstream-mtls: "b" is not an --upstream/);
    try {
      unknown();
    } catch (error) {
      expect((error as UserError).format()).toMatch(/^deploy\.yaml:7: /);
    }
    expect(() => resolveSettings([[{ key: 'allow-peer', value: 'a/b/c', file: 'deploy.yaml', line: 3 }]])).toThrow(/is not a peer identity/);
  });
});

describe('README', () => {
  it('documents every option as the option table defines it', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const o of OPTIONS) {
      expect(readme, o.key).toContain(`| \`${o.flag}\` | ${o.description.replace(/\|/g, '\\|')} |`);
    }
  });
});

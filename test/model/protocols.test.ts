/** The protocol resolution table: first match wins, and the source is named. */
import { describe, expect, it } from 'vitest';
import { OPAQUE_PORTS, parsePortProtocol, protocolOfAppProtocol, protocolOfPortName, resolveProtocol, type PortFacts } from '../../src/model/protocols.js';

const facts = (f: Partial<PortFacts>): PortFacts => ({ port: 8080, appProtocols: [], names: [], ...f });

describe('resolveProtocol', () => {
  it.each([
    // the setting beats everything
    [facts({ setting: 'tcp', appProtocols: ['grpc'], names: ['http'] }), 'tcp', 'port-protocol'],
    [facts({ setting: 'skip', port: 6379 }), 'skip', 'port-protocol'],
    // then the Service's appProtocol
    [facts({ appProtocols: ['grpc'], names: ['http'] }), 'grpc', 'appProtocol'],
    [facts({ appProtocols: ['kubernetes.io/h2c'] }), 'http2', 'appProtocol'],
    [facts({ appProtocols: ['h2c'] }), 'http2', 'appProtocol'],
    [facts({ appProtocols: ['kubernetes.io/ws'] }), 'http', 'appProtocol'],
    [facts({ appProtocols: ['https'] }), 'tls', 'appProtocol'],
    [facts({ appProtocols: ['TCP'] }), 'tcp', 'appProtocol'],
    // an appProtocol we do not know falls through to the next rule
    [facts({ appProtocols: ['example.com/custom'], names: ['grpc-api'] }), 'grpc', 'port name'],
    // port-name prefixes (Istio's convention)
    [facts({ names: ['http'] }), 'http', 'port name'],
    [facts({ names: ['http2-web'] }), 'http2', 'port name'],
    [facts({ names: ['grpc-web'] }), 'http', 'port name'],
    [facts({ names: ['grpc-web-ui'] }), 'http', 'port name'],
    [facts({ names: ['grpc'] }), 'grpc', 'port name'],
    [facts({ names: ['https-admin'] }), 'tls', 'port name'],
    [facts({ names: ['mongo'] }), 'tcp', 'port name'],
    [facts({ names: ['redis-main'] }), 'tcp', 'port name'],
    [facts({ names: ['httpish'] }), 'detect', 'detected'], // a prefix is a whole word
    [facts({ names: ['web', 'tcp-x'] }), 'tcp', 'port name'], // the first name that means something
    // well-known server-first ports, when nothing names the protocol
    [facts({ port: 3306 }), 'tcp', 'well-known port'],
    [facts({ port: 5432, names: ['db'] }), 'tcp', 'well-known port'],
    [facts({ port: 6379, names: ['http'] }), 'http', 'port name'], // a name still wins
    // otherwise detected per connection
    [facts({ port: 9100 }), 'detect', 'detected'],
  ])('%# %o -> %s (%s)', (f, protocol, source) => {
    expect(resolveProtocol(f)).toEqual({ protocol, source });
  });

  it('knows at least Linkerd\'s default opaque ports and the usual brokers and databases', () => {
    for (const p of [25, 587, 3306, 4444, 5432, 6379, 9300, 11211, 2181, 9042, 9092, 27017]) expect(OPAQUE_PORTS.has(p), String(p)).toBe(true);
    expect(OPAQUE_PORTS.has(8080)).toBe(false);
  });

  it('maps values case-insensitively and leaves unknown ones alone', () => {
    expect(protocolOfAppProtocol(' GRPC ')).toBe('grpc');
    expect(protocolOfAppProtocol('quic')).toBeUndefined();
    expect(protocolOfPortName('TCP-metrics')).toBe('tcp');
    expect(protocolOfPortName('metrics')).toBeUndefined();
  });
});

describe('parsePortProtocol', () => {
  it('reads PORT=PROTOCOL', () => {
    expect(parsePortProtocol('9090=grpc')).toEqual({ port: 9090, protocol: 'grpc' });
    expect(parsePortProtocol(' 6379 = tcp ')).toEqual({ port: 6379, protocol: 'tcp' });
  });
  it.each(['9090', '9090=quic', 'x=http', '0=http', '70000=tcp', '9090=grpc=x'])('refuses %s', (raw) => {
    expect(() => parsePortProtocol(raw)).toThrow();
  });
});

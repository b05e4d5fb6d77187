/** Every port of a pod: protocol, listener or the reason it has none. */
import { describe, expect, it } from 'vitest';
import { describePort, planPorts, servicePortsOf, type ServicePortFacts } from '../../src/model/ports.js';
import { resolveSettings, type SettingsLayer } from '../../src/settings/resolve.js';

const settingsOf = (...pairs: [string, string][]) => resolveSettings([pairs.map(([key, value]) => ({ key, value, flag: `--${key}` })) as SettingsLayer]);

const spec = {
  containers: [
    {
      name: 'app',
      ports: [
        { name: 'http', containerPort: 8080 },
        { name: 'grpc', containerPort: 9090 },
        { name: 'statsd', containerPort: 8125, protocol: 'UDP' },
        { containerPort: 15006 }, // the app itself uses the default proxy port
      ],
    },
    { name: 'exporter', ports: [{ containerPort: 9100 }, { containerPort: 8080 }] }, // 8080 again: de-duplicated
  ],
  initContainers: [{ name: 'native', restartPolicy: 'Always', ports: [{ containerPort: 15007 }] }],
};

const service: ServicePortFacts[] = servicePortsOf(
  { spec: { ports: [{ name: 'web', port: 80, targetPort: 'http' }, { port: 9090, appProtocol: 'grpc' }, { port: 53, protocol: 'UDP', targetPort: 8125 }] } },
  'app',
);

describe('planPorts', () => {
  it('proxies every TCP port in its protocol, numbering listeners past every declared port', () => {
    const plans = planPorts(spec, service, settingsOf(), { reserved: [15000, 15090] });
    expect(plans.map(describePort)).toEqual([
      ':8080 http (port name) -> proxy :15008',
      ':8125 udp: not proxied',
      ':9090 grpc (appProtocol) -> proxy :15009',
      ':9100 detected per connection (http or tcp) -> proxy :15010',
      ':15006 detected per connection (http or tcp) -> proxy :15011',
    ]);
  });

  it('honours port-protocol, skip and app-port', () => {
    const plans = planPorts(spec, service, settingsOf(['port-protocol', '9100=skip'], ['port-protocol', '9090=tcp'], ['proxy-port', '16000']), { reserved: [] });
    expect(plans.map(describePort)).toEqual([
      ':8080 http (port name) -> proxy :16000',
      ':8125 udp: not proxied',
      ':9090 tcp (port-protocol) -> proxy :16001',
      ':9100 skip (port-protocol): skipped (port-protocol)',
      ':15006 detected per connection (http or tcp) -> proxy :16002',
    ]);
    const one = planPorts(spec, service, settingsOf(['app-port', '9090']), { reserved: [] });
    expect(one.filter((p) => p.listener !== undefined).map((p) => [p.port, p.listener])).toEqual([[9090, 15008]]);
    expect(one.find((p) => p.port === 8080)?.notProxied).toBe('not proxied (--app-port 9090)');
  });

  it('the bundled proxy carries HTTP/1.1, HTTP/2, gRPC, TCP and TLS, and detects undeclared ports', () => {
    const plans = planPorts(spec, service, settingsOf(['proxy', 'bundled'], ['port-protocol', '8080=tcp']), { reserved: [] });
    expect(plans.filter((p) => p.listener !== undefined).map((p) => [p.port, p.protocol, p.listener])).toEqual([
      [8080, 'tcp', 15008],
      [9090, 'grpc', 15009],
      [9100, 'detect', 15010],
      [15006, 'detect', 15011],
    ]);
    expect(describePort(plans.find((p) => p.port === 9100)!)).toBe(':9100 detected per connection (http or tcp) -> proxy :15010');
  });

  it('an app-port no container declares is still proxied', () => {
    const plans = planPorts({ containers: [{ name: 'app' }] }, [], settingsOf(['app-port', '3000']), { reserved: [] });
    expect(plans.map(describePort)).toEqual([':3000 detected per connection (http or tcp) -> proxy :15006']);
  });

  it('a UDP Service port never reaches a TCP app port of the same number', () => {
    const dns = { containers: [{ name: 'dns', ports: [{ containerPort: 53, protocol: 'UDP', name: 'dns' }, { containerPort: 53, protocol: 'TCP', name: 'dns-tcp' }] }] };
    const svc = servicePortsOf({ spec: { ports: [{ port: 53, protocol: 'UDP', targetPort: 53, appProtocol: 'http' }, { port: 53, protocol: 'TCP', name: 'tcp-dns' }] } }, 'dns');
    const plans = planPorts(dns, svc, settingsOf(), { reserved: [] });
    expect(plans.map(describePort)).toEqual([':53 tcp (port name) -> proxy :15006', ':53 udp: not proxied']);
  });
});

/**
 * Where the app listens (the pod IP, from the downward API) and IPv6 Services: Envoy dials the pod
 * IP, put into its config by the container's own command (run here through bash, as the kubelet
 * would start it); listeners behind an IPv6 Service bind ::.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseSource } from '../../src/manifest/source.js';
import type { SettingsLayer } from '../../src/settings/resolve.js';
import { appAddressOf, isIpv6Service } from '../../src/network/addresses.js';
import { loadEnvoyValidator } from '../../src/validate/envoy.js';
import { resolveConfig } from '../../src/proxy/config.js';
import { emptyConfig } from '../../src/lint/config.js';
import { envoyIssues, inject, load, objectsOfText, ROOT, schemaIssues, uninject } from '../helpers/corpus.js';
import { lint } from '../lint/helpers.js';

type Json = Record<string, any>;
const flags = (...pairs: [string, string][]): SettingsLayer => pairs.map(([key, value]) => ({ key, value, flag: `--${key}` }));
const strict = flags(['mtls', 'strict'], ['mtls-issuer', 'mesh-ca']);
const FIXTURE = join(ROOT, 'test/network/fixtures/pod-ip-app.yaml');

function workload(out: string, name: string): Json {
  return objectsOfText(out).find((o) => o.kind === 'Deployment' && (o.metadata as Json).name === name) as Json;
}

function config(out: string, name: string, key: string): string {
  return (objectsOfText(out).find((o) => o.kind === 'ConfigMap' && (o.metadata as Json).name === `${name}-sidecarctl`) as Json).data[key];
}

/** Kubernetes' own expansion of a container command: `$$` is a literal `$` (no variable here is `$(NAME)`). */
function kubeletExpand(arg: string): string {
  return arg.replaceAll('$$', '$');
}

describe('app address and IP families', () => {
  it('detects apps bound to the pod IP, and IPv6 or dual-stack Services', () => {
    const spec = { containers: [{ name: 'a', env: [{ name: 'MY_POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }] }] };
    expect(appAddressOf(spec, undefined)).toEqual({ address: 'pod-ip', detected: 'MY_POD_IP' });
    expect(appAddressOf(spec, '127.0.0.1')).toEqual({ address: '127.0.0.1' });
    expect(appAddressOf({ containers: [{ name: 'a' }] }, undefined)).toEqual({ address: '127.0.0.1' });
    expect(isIpv6Service({ spec: { ipFamilies: ['IPv6'] } })).toBe(true);
    expect(isIpv6Service({ spec: { ipFamilyPolicy: 'PreferDualStack' } })).toBe(true);
    expect(isIpv6Service({ spec: { clusterIP: 'fd00::10' } })).toBe(true);
    expect(isIpv6Service({ spec: { clusterIP: '10.0.0.1' } })).toBe(false);
  });

  const source = load(FIXTURE);
  const result = inject(source, strict);
  const out = result.files[0]!.text;

  it('Envoy dials the pod IP: the container command puts $SIDECARCTL_POD_IP into the config it hands Envoy', async () => {
    const pod = workload(out, 'otel-collector').spec.template.spec;
    const envoy = pod.initContainers.find((c: Json) => c.name === 'sidecarctl-envoy');
    expect(envoy.env).toEqual([{ name: 'SIDECARCTL_POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }]);
    // Run the command as the kubelet would, with the config where the ConfigMap mount puts it and
    // a stand-in for the envoy binary that writes down what it was given.
    const dir = mkdtempSync(join(tmpdir(), 'sidecarctl-podip-'));
    writeFileSync(join(dir, 'envoy.yaml'), config(out, 'otel-collector', 'envoy.yaml'));
    const fake = join(dir, 'envoy');
    writeFileSync(fake, `#!/bin/bash\nprintf '%s\\0' "$@" > ${dir}/args\n`);
    chmodSync(fake, 0o755);
    const [shell, flag, script, ...rest] = [...envoy.command, ...envoy.args].map(kubeletExpand);
    const local = script!.replaceAll('/etc/sidecarctl/envoy.yaml', join(dir, 'envoy.yaml')).replaceAll('/usr/local/bin/envoy', fake);
    execFileSync(shell!, [flag!, local, ...rest], { env: { ...process.env, SIDECARCTL_POD_IP: '10.1.2.3' } });
    const args = readFileSync(join(dir, 'args'), 'utf8').split('\0').slice(0, -1);
    expect(args[0]).toBe('--config-yaml');
    expect(args.slice(2)).toEqual(envoy.args);
    const bootstrap = parse(args[1]!);
    const clusters = bootstrap.static_resources.clusters.filter((c: Json) => String(c.name).startsWith('app'));
    expect(clusters.map((c: Json) => c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address)).toEqual([
      { address: '10.1.2.3', port_value: 4318 },
      { address: '10.1.2.3', port_value: 14250 },
    ]);
    const validator = await loadEnvoyValidator();
    expect(validator.validateBootstrap(bootstrap).filter((i) => !i.message.startsWith('deprecated:'))).toEqual([]);
  });

  it('listeners behind an IPv6 Service bind :: (IPv4 too), the metrics listener as well', () => {
    const envoy = parse(config(out, 'echo', 'envoy.yaml'));
    const addresses = envoy.static_resources.listeners.filter((l: Json) => l.name === 'inbound' || l.name === 'metrics').map((l: Json) => l.address.socket_address);
    expect(addresses).toEqual([
      { address: '::', port_value: 15006, ipv4_compat: true },
      { address: '::', port_value: 15090, ipv4_compat: true },
    ]);
    // The pod-IP app's Service is IPv4: 0.0.0.0 there.
    const otel = parse(config(out, 'otel-collector', 'envoy.yaml'));
    expect(otel.static_resources.listeners[0].address.socket_address.address).toBe('0.0.0.0');
  });

  it('is schema-valid, valid for Envoy, lint-clean, idempotent and reversible', async () => {
    expect(schemaIssues(out)).toEqual([]);
    expect(await envoyIssues(out)).toEqual({ configs: 2, issues: [] });
    expect(await lint([parseSource('pod-ip.injected.yaml', out)], emptyConfig(), strict)).toEqual([]);
    expect(inject(parseSource(FIXTURE, out), strict).files[0]!.text).toBe(out);
    expect(uninject(parseSource(FIXTURE, out)).files[0]!.text).toBe(source.text);
  });

  it('the bundled proxy: listens on :: behind an IPv6 Service, and leaves a pod-IP app alone rather than break its Service', () => {
    const bundled = inject(source, [...strict, ...flags(['proxy', 'bundled'])]);
    const text = bundled.files[0]!.text;
    const proxy = JSON.parse(config(text, 'echo', 'proxy.json'));
    expect([proxy.inbound.address, proxy.admin.address]).toEqual(['::', '::']);
    expect(resolveConfig(proxy, 'proxy.json').listeners[0]!.address).toBe('::');
    const otel = bundled.reports.find((r) => r.object === 'Deployment/observability/otel-collector')!;
    expect(otel.action).toBe('skipped');
    expect(otel.reason).toContain('the bundled proxy dials 127.0.0.1 only');
    const service = objectsOfText(text).find((o) => o.kind === 'Service' && (o.metadata as Json).name === 'otel-collector') as Json;
    expect(service.spec.ports.map((p: Json) => p.targetPort)).toEqual(['jaeger-grpc', 'otlp-http']);
  });
});

/**
 * `inject --proxy bundled` end to end: the pod inject writes is run the way the kubelet would run
 * it, on 127.0.0.1: the ConfigMap's files (the bundle and proxy.json) and the Secret's files go to
 * temporary directories standing in for the volumes, and the container's own command line starts
 * the proxy as a child process in front of a real backend.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { parse } from 'yaml';
import { PROXY_JSON_LOG_PORT } from '../../src/sidecars/logging/proxy-log.js';
import { NODE_FLAGS, NODE_IMAGE } from '../../src/sidecars/bundled/container.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SettingsLayer } from '../../src/settings/resolve.js';
import { inject, load, objectsOfText, podContainers, ROOT, schemaIssues, uninject } from '../helpers/corpus.js';
import { parseSource } from '../../src/manifest/source.js';
import { request, startBackend, unusedPort, waitFor, type Backend } from '../proxy/helpers/harness.js';
import { createPki, type Pki } from '../proxy/helpers/pki.js';
import { client, startGrpcApp, unary, type GrpcApp } from '../proxy/helpers/grpc.js';

const WEB = join(ROOT, 'fixtures', 'web.yaml');
type Obj = Record<string, unknown>;

interface RunningPod {
  proxy: ChildProcess;
  stdout: string[];
  ports: { inbound: number; admin: number };
  stop(): Promise<number | null>;
}

/** Inject web.yaml with these flags and run its bundled proxy container like the kubelet would. */
async function runInjectedProxy(
  backend: Backend,
  extra: SettingsLayer,
  pki?: Pki,
  patchProxyConfig: (text: string) => string = (t) => t,
): Promise<{ pod: RunningPod; out: string }> {
  const ports = { inbound: await unusedPort(), admin: await unusedPort() };
  const flags: SettingsLayer = [
    { key: 'proxy', value: 'bundled', flag: '--proxy' },
    { key: 'app-port', value: String(backend.port), flag: '--app-port' },
    { key: 'proxy-port', value: String(ports.inbound), flag: '--proxy-port' },
    { key: 'admin-port', value: String(ports.admin), flag: '--admin-port' },
    ...extra,
  ];
  return runPod(load(WEB), flags, ports, pki, patchProxyConfig);
}

/** Injects `source` and runs its bundled proxy container from the ConfigMap's own files. */
async function runPod(
  source: ReturnType<typeof load>,
  flags: SettingsLayer,
  ports: { inbound: number; admin: number },
  pki?: Pki,
  patchProxyConfig: (text: string) => string = (t) => t,
): Promise<{ pod: RunningPod; out: string }> {
  const out = inject(source, flags).files[0]!.text;
  const objects = objectsOfText(out);
  const configMap = objects.find((o) => o.kind === 'ConfigMap')!;
  const container = podContainers(objects.find((o) => o.kind === 'Deployment')!).find((c) => c.name === 'sidecarctl-proxy')!;

  // The volumes: the ConfigMap's keys as files, the Secret's keys as files.
  const root = mkdtempSync(join(tmpdir(), 'sidecarctl-pod-'));
  const configDir = join(root, 'config');
  const certDir = join(root, 'certs');
  mkdirSync(configDir);
  mkdirSync(certDir);
  const relocate = (text: string) => text.replaceAll('/etc/sidecarctl', configDir).replaceAll('/var/run/sidecarctl/certs', certDir);
  for (const [key, value] of Object.entries(configMap.data as Record<string, string>)) {
    writeFileSync(join(configDir, key), key === 'proxy.json' ? patchProxyConfig(relocate(value)) : relocate(value));
  }
  if (pki) {
    writeFileSync(join(certDir, 'tls.crt'), pki.server.cert);
    writeFileSync(join(certDir, 'tls.key'), pki.server.key);
    writeFileSync(join(certDir, 'ca.crt'), pki.ca.cert);
  }
  const argv = [...(container.command as string[]), ...(container.args as string[])].map(relocate);
  expect(argv[0]).toBe('node');
  const proxy = spawn(process.execPath, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  proxy.stdout!.on('data', (chunk: Buffer) => stdout.push(...chunk.toString().split('\n').filter(Boolean)));
  let stderr = '';
  proxy.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((r) => proxy.on('exit', (code) => r(code)));
  // The startup probe, as the kubelet would call it.
  await waitFor(async () => (await request(`http://127.0.0.1:${ports.admin}/ready`).catch(() => ({ status: 0 }))).status === 200 || undefined, 10_000, `proxy ready (stderr: ${stderr})`);
  return {
    out,
    pod: {
      proxy,
      stdout,
      ports,
      stop: async () => {
        proxy.kill('SIGTERM');
        return exited;
      },
    },
  };
}

describe('inject --proxy bundled, run for real', () => {
  let backend: Backend;
  let pki: Pki;
  beforeAll(async () => {
    backend = await startBackend((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: req.url, forwardedFor: req.headers['x-forwarded-for'] ?? null }));
    });
    pki = await createPki();
  });
  afterAll(async () => backend.close());

  it('is a valid pod that round-trips', async () => {
    const { pod, out } = await runInjectedProxy(backend, []);
    await pod.stop();
    expect(schemaIssues(out)).toEqual([]);
    const flags: SettingsLayer = [{ key: 'proxy', value: 'bundled', flag: '--proxy' }];
    const again = inject(load(WEB), flags).files[0]!.text;
    expect(inject(parseSource(WEB, again), flags).files[0]!.text).toBe(again);
    expect(uninject(parseSource(WEB, again)).files[0]!.text).toBe(load(WEB).text);
    const container = podContainers(objectsOfText(again).find((o) => o.kind === 'Deployment')!).find((c) => c.name === 'sidecarctl-proxy')!;
    expect(container.image).toMatch(/^node:\d+\.\d+\.\d+-alpine$/);
    expect(container.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
  });

  it('forwards to the app, logs each request, and rate-limits with 429', async () => {
    const { pod } = await runInjectedProxy(backend, [
      { key: 'rate-limit', value: '1', flag: '--rate-limit' },
      { key: 'burst', value: '2', flag: '--burst' },
    ]);
    try {
      const url = `http://127.0.0.1:${pod.ports.inbound}/orders?id=7`;
      const first = await request(url);
      expect(first.status).toBe(200);
      expect(JSON.parse(first.body)).toMatchObject({ path: '/orders?id=7', forwardedFor: '127.0.0.1' });
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await request(url)).status);
      expect(statuses).toContain(429);
      const line = await waitFor(() => pod.stdout.map((l) => JSON.parse(l) as Obj).find((l) => l.path === '/orders?id=7' && l.status === 200));
      expect(line).toMatchObject({ method: 'GET', listener: 'inbound' });
      const metrics = await request(`http://127.0.0.1:${pod.ports.admin}/metrics`);
      expect(metrics.body).toMatch(/429/);
    } finally {
      expect(await pod.stop()).toBe(0);
    }
  });

  it('strict mTLS: the allowed peer gets through, plaintext and other identities do not', async () => {
    const { pod, out } = await runInjectedProxy(
      backend,
      [
        { key: 'mtls', value: 'strict', flag: '--mtls' },
        { key: 'mtls-secret', value: 'web-certs', flag: '--mtls-secret' },
        // web.yaml is in namespace shop: this is spiffe://cluster.local/ns/shop/sa/frontend.
        { key: 'allow-peer', value: 'frontend', flag: '--allow-peer' },
      ],
      pki,
    );
    try {
      expect(schemaIssues(out)).toEqual([]);
      const url = `https://127.0.0.1:${pod.ports.inbound}/secure`;
      const tlsGet = (client: { cert: string; key: string } | null) =>
        new Promise<number>((resolve, reject) => {
          const req = https.get(url, { ca: pki.ca.cert, servername: 'localhost', ...(client ?? {}), agent: false, rejectUnauthorized: false }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode!));
          });
          req.on('error', reject);
        });
      expect(await tlsGet(pki.client)).toBe(200);
      await expect(tlsGet(pki.clientWrongSan)).rejects.toThrow();
      await expect(tlsGet(pki.clientWrongCa)).rejects.toThrow();
      await expect(tlsGet(null)).rejects.toThrow();
      await expect(request(`http://127.0.0.1:${pod.ports.inbound}/plain`)).rejects.toThrow();
    } finally {
      expect(await pod.stop()).toBe(0);
    }
  });
});

describe('inject --proxy bundled: a pod that is stopped drains', () => {
  it('runs its preStop as written (a real sleep, still serving), then SIGTERM: /ready is 503, new connections are refused, the in-flight request finishes, exit 0; both waits fit the grace period', async () => {
    let release: () => void = () => undefined;
    const slow = await startBackend((req, res) => {
      if (req.url === '/slow') release = () => res.end('late but whole');
      else res.end('ok');
    });
    try {
      // A try may take longer than the drain's start: the request is in flight when SIGTERM comes.
      const { pod, out } = await runInjectedProxy(slow, [{ key: 'per-try-timeout', value: '20s', flag: '--per-try-timeout' }]);
      const objects = objectsOfText(out);
      const spec = (objects.find((o) => o.kind === 'Deployment')!.spec as Obj).template as Obj;
      const grace = ((spec.spec as Obj).terminationGracePeriodSeconds as number | undefined) ?? 30;
      const container = podContainers(objects.find((o) => o.kind === 'Deployment')!).find((c) => c.name === 'sidecarctl-proxy')!;
      const preStop = ((container.lifecycle as Obj).preStop as Obj).exec as { command: string[] };
      expect(preStop.command[0]).toBe('sleep');
      const proxyJson = JSON.parse((objects.find((o) => o.kind === 'ConfigMap')!.data as Record<string, string>)['proxy.json']!) as { drainTimeoutMs: number };
      expect(Number(preStop.command[1]) + proxyJson.drainTimeoutMs / 1000).toBeLessThan(grace);

      // The kubelet runs preStop to its end, then sends SIGTERM.
      const sleeper = spawn(preStop.command[0]!, preStop.command.slice(1), { stdio: 'ignore' });
      const slept = new Promise((r) => sleeper.on('exit', r));
      // While it sleeps the proxy still serves: traffic that has not learnt of the termination.
      expect((await request(`http://127.0.0.1:${pod.ports.inbound}/during-prestop`)).status).toBe(200);
      expect(await slept).toBe(0);
      const inFlight = request(`http://127.0.0.1:${pod.ports.inbound}/slow`);
      await waitFor(() => slow.requests.some((r) => r.url === '/slow') || undefined, 5000, 'the request reached the app');
      const stopped = pod.stop();
      await waitFor(async () => (await request(`http://127.0.0.1:${pod.ports.admin}/ready`).catch(() => ({ status: 0 }))).status === 503 || undefined, 3000, '/ready 503 while draining');
      // New connections are refused: the listener stopped accepting (clients go to other pods).
      await waitFor(
        () => new Promise<true | undefined>((r) => net.connect(pod.ports.inbound, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); r(undefined); }).once('error', (e: NodeJS.ErrnoException) => r(e.code === 'ECONNREFUSED' || undefined))),
        3000,
        'new connections refused while draining',
      );
      release();
      const reply = await inFlight;
      expect(reply.status).toBe(200);
      expect(reply.body).toBe('late but whole');
      expect(await stopped).toBe(0);
    } finally {
      release();
      await slow.close();
    }
  });
});

describe('inject --proxy bundled --logging: access logs reach the shipper', () => {
  it('the proxy sends each access line to the JSON input the Fluent Bit config opens', async () => {
    const backend = await startBackend();
    // Stand-in for the shipper's tcp input, on the port its config declares.
    const lines: string[] = [];
    const shipperPort = await unusedPort();
    const server = net.createServer((s) => s.on('data', (c) => lines.push(...c.toString().split('\n').filter(Boolean))));
    await new Promise<void>((r) => server.listen(shipperPort, '127.0.0.1', r));
    try {
      const { pod, out } = await runInjectedProxy(backend, [{ key: 'logging', value: 'fluent-bit', flag: '--logging' }], undefined, (text) =>
        text.replaceAll(`"port": ${PROXY_JSON_LOG_PORT}`, `"port": ${shipperPort}`),
      );
      const configMap = objectsOfText(out).find((o) => o.kind === 'ConfigMap')!;
      const fluentBit = parse((configMap.data as Record<string, string>)['fluent-bit.yaml']!);
      expect(fluentBit.pipeline.inputs.find((i: Obj) => i.name === 'tcp')).toMatchObject({ listen: '127.0.0.1', port: PROXY_JSON_LOG_PORT, format: 'json' });
      try {
        expect((await request(`http://127.0.0.1:${pod.ports.inbound}/shipped`)).status).toBe(200);
        const shipped = await waitFor(() => lines.map((l) => JSON.parse(l) as Obj).find((l) => l.path === '/shipped'), 8000, 'access line at the shipper');
        expect(shipped).toMatchObject({ method: 'GET', status: 200, listener: 'inbound' });
      } finally {
        expect(await pod.stop()).toBe(0);
      }
    } finally {
      server.close();
      await backend.close();
    }
  });
});

describe('the two ways to run the bundled proxy agree', () => {
  it('the ConfigMap-delivered bundle runs with the V8 flags of Dockerfile.proxy', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile.proxy'), 'utf8');
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    expect(entrypoint.slice(1, -1)).toEqual(NODE_FLAGS);
    expect(dockerfile).toContain(`FROM ${NODE_IMAGE}`);
  });
});

describe('one pod, every protocol: HTTP/1.1, h2c, gRPC and a database port, run for real', () => {
  let http1: Backend;
  let grpcApp: GrpcApp;
  let db: net.Server;
  let dbPort = 0;
  let pki: Pki;
  beforeAll(async () => {
    http1 = await startBackend((req, res) => res.end(`http ${req.url}`));
    grpcApp = await startGrpcApp();
    // A server-first database: greets before the client speaks, then answers PING.
    db = net.createServer((s) => {
      s.write('+READY\r\n');
      s.on('data', (c) => s.write(c.toString().includes('PING') ? '+PONG\r\n' : '-ERR\r\n'));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => db.listen(0, '127.0.0.1', r));
    dbPort = (db.address() as net.AddressInfo).port;
    pki = await createPki();
  });
  afterAll(async () => {
    await http1.close();
    await grpcApp.close();
    db.close();
  });

  /** A Deployment whose app listens on the three real servers' ports, declared as a user would. */
  function manifest(): ReturnType<typeof load> {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: mixed
  namespace: shop
spec:
  selector:
    matchLabels: { app: mixed }
  template:
    metadata:
      labels: { app: mixed }
    spec:
      containers:
        - name: app
          image: example/mixed:1.0.0
          ports:
            - { name: http, containerPort: ${http1.port} }
            - { name: grpc, containerPort: ${grpcApp.port} }
            - { name: tcp-db, containerPort: ${dbPort} }
`;
    return parseSource('mixed.yaml', text);
  }

  async function runMixed(extra: SettingsLayer, withPki: boolean) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    const ports = { inbound: base, admin: await unusedPort() };
    const flags: SettingsLayer = [
      { key: 'proxy', value: 'bundled', flag: '--proxy' },
      { key: 'proxy-port', value: String(base), flag: '--proxy-port' },
      { key: 'admin-port', value: String(ports.admin), flag: '--admin-port' },
      ...extra,
    ];
    const { pod, out } = await runPod(manifest(), flags, ports, withPki ? pki : undefined);
    const cm = objectsOfText(out).find((o) => o.kind === 'ConfigMap')! as { data: Record<string, string> };
    const listeners = JSON.parse(cm.data['proxy.json']!).inbound as { protocol: string; port: number; target: { port: number } }[];
    const portOf = (target: number) => listeners.find((l) => l.target.port === target)!.port;
    return { pod, out, listeners, portOf };
  }

  function dbExchange(connect: () => net.Socket, speakFirst = false): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = connect();
      if (speakFirst) s.write('PING\r\n');
      let got = '';
      s.on('data', (c: Buffer) => {
        got += c.toString();
        if (got === '+READY\r\n') s.write('PING\r\n');
        if (got.endsWith('+PONG\r\n')) {
          s.end();
          resolve(got);
        }
      });
      s.on('error', reject);
      s.on('close', () => reject(new Error(`closed after ${JSON.stringify(got)}`)));
    });
  }

  it('plaintext: each port gets the listener of its protocol, and each protocol gets through', async () => {
    const { pod, out, listeners, portOf } = await runMixed([], false);
    try {
      expect(schemaIssues(out)).toEqual([]);
      expect([http1.port, grpcApp.port, dbPort].map((port) => listeners.find((l) => l.target.port === port)?.protocol)).toEqual(['http', 'grpc', 'tcp']);
      // HTTP/1.1 and h2c on the http port.
      expect((await request(`http://127.0.0.1:${portOf(http1.port)}/one`)).body).toBe('http /one');
      const session = http2.connect(`http://127.0.0.1:${portOf(http1.port)}`);
      const h2c = await new Promise<string>((resolve, reject) => {
        const req = session.request({ ':path': '/two' });
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => resolve(body));
        req.on('error', reject);
      });
      session.close();
      expect(h2c).toBe('http /two');
      // gRPC on the grpc port.
      const echo = client(portOf(grpcApp.port));
      expect((await unary(echo, 'hi')).reply?.toString()).toBe('hi');
      echo.close();
      // The database through its tcp listener.
      expect(await dbExchange(() => net.connect(portOf(dbPort), '127.0.0.1'))).toBe('+READY\r\n+PONG\r\n');
      const lines = await waitFor(() => (pod.stdout.length >= 4 ? pod.stdout.map((l) => JSON.parse(l) as Obj) : undefined));
      expect(lines.map((l) => l.protocol ?? 'h1').sort()).toEqual(['h1', 'h2', 'h2', 'tcp']);
    } finally {
      expect(await pod.stop()).toBe(0);
    }
  });

  it('--mtls strict: every port takes the allowed peer over mTLS and refuses plaintext', async () => {
    const { pod, out, portOf } = await runMixed(
      [
        { key: 'mtls', value: 'strict', flag: '--mtls' },
        { key: 'mtls-secret', value: 'mixed-certs', flag: '--mtls-secret' },
        { key: 'allow-peer', value: 'frontend', flag: '--allow-peer' },
      ],
      true,
    );
    try {
      expect(schemaIssues(out)).toEqual([]);
      const tlsOptions = { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key, servername: 'localhost' };
      // h2 over TLS (ALPN) on the http port.
      const session = http2.connect(`https://127.0.0.1:${portOf(http1.port)}`, tlsOptions);
      const h2 = await new Promise<string>((resolve, reject) => {
        const req = session.request({ ':path': '/secure' });
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => resolve(body));
        req.on('error', reject);
      });
      session.close();
      expect(h2).toBe('http /secure');
      const creds = grpc.credentials.createSsl(Buffer.from(pki.ca.cert), Buffer.from(pki.client.key), Buffer.from(pki.client.cert));
      const echo = client(portOf(grpcApp.port), creds, { 'grpc.ssl_target_name_override': 'localhost' });
      expect((await unary(echo, 'secure')).reply?.toString()).toBe('secure');
      echo.close();
      expect(await dbExchange(() => tls.connect({ ...tlsOptions, port: portOf(dbPort), host: '127.0.0.1' }))).toBe('+READY\r\n+PONG\r\n');
      // Plaintext on each port is refused: HTTP/1.1, h2c, gRPC and raw TCP.
      await expect(request(`http://127.0.0.1:${portOf(http1.port)}/plain`)).rejects.toThrow();
      const plain = client(portOf(grpcApp.port));
      expect((await unary(plain, 'x', { deadline: Date.now() + 3000 })).error?.code).toBe(grpc.status.UNAVAILABLE);
      plain.close();
      // (A client that waits for the greeting would wait out the TLS handshake timeout instead.)
      await expect(dbExchange(() => net.connect(portOf(dbPort), '127.0.0.1'), true)).rejects.toThrow(/closed after ""/);
    } finally {
      expect(await pod.stop()).toBe(0);
    }
  });
});

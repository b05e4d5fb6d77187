/**
 * Shared test plumbing: backends, a proxy started in-process from a config object, HTTP helpers,
 * and the esbuild bundle for tests that need the proxy as a real child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { build } from 'esbuild';
import { afterAll } from 'vitest';
import { runProxy, type ProxyHandle } from '../../../src/proxy/main.js';
import type { InboundListenerConfig, ProxyConfig } from '../../../src/proxy/config.js';
import type { AccessEntry } from '../../../src/proxy/accesslog.js';

export const ROOT = resolve(import.meta.dirname, '../../..');

const tempDirs: string[] = [];
// Registered while the importing test file is collected: runs after that file's tests.
afterAll(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  bundlePromise = null;
});

/** A temporary directory, removed after the test file. */
export function tempDir(prefix = 'sidecarctl-proxy-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until `fn` returns a truthy value (or throws after `timeoutMs`). */
export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 5000, what = 'condition'): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(20);
  }
}

// ---------------------------------------------------------------------------------------------
// Backends
// ---------------------------------------------------------------------------------------------

export interface Backend {
  port: number;
  server: http.Server;
  /** Requests received, in order. */
  requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string, n: number) => void;

/** An HTTP server on 127.0.0.1 with a random port that records requests (bodies up to 1 MB). */
export async function startBackend(handler: Handler = (_req, res) => res.end('ok')): Promise<Backend> {
  const requests: Backend['requests'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 1 << 20) chunks.push(c);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handler(req, res, body, requests.length);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    server,
    requests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A port nobody listens on (bound, then released). */
export async function unusedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

// ---------------------------------------------------------------------------------------------
// Proxy in-process
// ---------------------------------------------------------------------------------------------

/** An access-log line as printed: the runtime's entry plus its timestamp. */
export type AccessLine = AccessEntry & { time: string };

export interface TestProxy {
  handle: ProxyHandle;
  dir: string;
  configPath: string;
  /** http://127.0.0.1:PORT of a listener. */
  url(listener: string, path?: string): string;
  port(listener: string): number;
  adminUrl(path: string): string;
  access(): AccessLine[];
  events(): Record<string, unknown>[];
  /** Rewrites the config file (atomically, via rename). */
  writeConfig(config: ProxyConfig): void;
  close(): Promise<void>;
}

function lineCollector() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  const lines = () =>
    text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { stream, lines };
}

export async function startProxy(config: ProxyConfig, opts: { watch?: boolean } = {}): Promise<TestProxy> {
  const dir = tempDir();
  const configPath = join(dir, 'proxy.json');
  const write = (c: ProxyConfig) => {
    const tmp = join(dir, `.proxy.json.${Date.now()}.${Math.random()}`);
    writeFileSync(tmp, JSON.stringify(c, null, 2));
    // rename is atomic: the proxy never reads a half-written file
    renameSync(tmp, configPath);
  };
  write(config);
  const out = lineCollector();
  const err = lineCollector();
  const handle = await runProxy(configPath, {
    stdout: out.stream,
    stderr: err.stream,
    watch: opts.watch ?? true,
    watchOptions: { debounceMs: 30, pollMs: 200 },
  });
  const port = (l: string) => {
    const p = handle.ports().listeners[l];
    if (p === undefined) throw new Error(`no listener ${l}`);
    return p;
  };
  return {
    handle,
    dir,
    configPath,
    port,
    url: (l, path = '/') => `http://127.0.0.1:${port(l)}${path}`,
    adminUrl: (path) => `http://127.0.0.1:${handle.ports().admin}${path}`,
    access: () => out.lines() as unknown as AccessLine[],
    events: err.lines,
    writeConfig: write,
    close: () => handle.close(),
  };
}



/** A minimal valid config: inbound to `appPort`, ephemeral ports everywhere. */
/** A config with one inbound listener (the object form). */
export type SingleInboundConfig = ProxyConfig & { inbound: InboundListenerConfig };

export function baseConfig(appPort: number, extra: Partial<InboundListenerConfig> = {}): SingleInboundConfig {
  return {
    inbound: { port: 0, address: '127.0.0.1', target: { host: '127.0.0.1', port: appPort }, ...extra },
    admin: { port: 0 },
    drainTimeoutMs: 2000,
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP client helpers
// ---------------------------------------------------------------------------------------------

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function request(
  url: string,
  opts: http.RequestOptions & { body?: string | Buffer; agent?: http.Agent | false } = {},
): Promise<Reply> {
  return new Promise((resolvePromise, reject) => {
    const req = http.request(url, { agent: opts.agent ?? false, ...opts }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolvePromise({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(opts.timeout ?? 10_000, () => req.destroy(new Error('client timeout')));
    req.end(opts.body);
  });
}

/** Sends raw bytes on a fresh connection and returns everything received until the server closes (or timeout). */
export function rawRequest(port: number, data: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolvePromise) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolvePromise(received);
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (c) => (received += c.toString('latin1')));
    socket.on('close', done);
    socket.on('error', done);
    socket.write(data);
  });
}

export async function metrics(url: string): Promise<Map<string, number>> {
  const { body } = await request(url);
  return parsePrometheus(body);
}

/**
 * Parses the Prometheus text format strictly enough to catch malformed output: every sample line
 * must be `name{labels} value`, every family must have HELP and TYPE before its samples.
 */
export function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(meta[3]!)) throw new Error(`bad TYPE: ${line}`);
        typed.add(meta[2]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!m) throw new Error(`malformed metrics line: ${line}`);
    const family = m[1]!.replace(/_(bucket|sum|count)$/, '');
    if (!typed.has(m[1]!) && !typed.has(family)) throw new Error(`sample before TYPE: ${line}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return samples;
}

// ---------------------------------------------------------------------------------------------
// The proxy as a child process (the esbuild bundle)
// ---------------------------------------------------------------------------------------------

let bundlePromise: Promise<string> | null = null;

/** Builds src/proxy/standalone.ts into a temp bundle once per test file. */
export function buildBundle(): Promise<string> {
  bundlePromise ??= (async () => {
    const outDir = tempDir('sidecarctl-proxy-bundle-');
    const outfile = join(outDir, 'proxy-bundle.mjs');
    await build({
      entryPoints: [join(ROOT, 'src/proxy/standalone.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      minify: true,
      logLevel: 'error',
    });
    return outfile;
  })();
  return bundlePromise;
}

export interface ChildProxy {
  child: ChildProcess;
  ports: Record<string, number>;
  admin: number;
  stdout(): string;
  stderr(): string;
  exit: Promise<number | null>;
}

/** Spawns the bundle with a config; resolves once it logged "ready". */
export async function spawnProxy(config: ProxyConfig, env: NodeJS.ProcessEnv = {}, nodeFlags: readonly string[] = []): Promise<ChildProxy> {
  const bundle = await buildBundle();
  const dir = tempDir();
  const configPath = join(dir, 'proxy.json');
  writeFileSync(configPath, JSON.stringify(config));
  const child = spawn(process.execPath, [...nodeFlags, bundle, '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await waitFor(() => err.includes('"msg":"ready"') || child.exitCode !== null, 10_000, 'proxy ready');
  if (child.exitCode !== null) throw new Error(`proxy exited: ${err}`);
  const ports: Record<string, number> = {};
  let admin = 0;
  for (const line of err.split('\n').filter(Boolean)) {
    const e = JSON.parse(line) as { msg: string; listener?: string; port?: number; admin?: number };
    if (e.msg === 'listening') ports[e.listener!] = e.port!;
    if (e.msg === 'ready') admin = e.admin!;
  }
  return { child, ports, admin, stdout: () => out, stderr: () => err, exit };
}

/** Write `total` bytes in chunks of `chunkSize`, waiting for 'drain' whenever the stream pushes back, then end it. */
export function pumpBytes(stream: NodeJS.WritableStream, total: number, chunkSize: number, fill: number): void {
  const chunk = Buffer.alloc(chunkSize, fill);
  let sent = 0;
  const pump = (): void => {
    while (sent < total) {
      sent += chunk.length;
      if (!stream.write(chunk)) {
        stream.once('drain', pump);
        return;
      }
    }
    stream.end();
  };
  pump();
}

/**
 * tcp and tls listeners on real sockets: opaque bytes both ways, server-first protocols,
 * half-close, backpressure, idle timeout, connection limit and rate, mTLS around tcp, TLS
 * passthrough, the access log and metrics.
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { InboundListenerConfig, ProxyConfig } from '../../src/proxy/config.js';
import { metrics, request, sleep, spawnProxy, startBackend, startProxy, tempDir, waitFor, type TestProxy } from './helpers/harness.js';
import { CLIENT_SPIFFE, createPki, type Pem, type Pki } from './helpers/pki.js';
import { SecretVolume } from './helpers/secret-volume.js';

interface App {
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 running `onSocket` for every connection. */
async function startApp(onSocket: (s: net.Socket) => void, opts: net.ServerOpts = { allowHalfOpen: true }): Promise<App> {
  const sockets = new Set<net.Socket>();
  const app: App = { port: 0, accepted: 0, close: async () => {} };
  const server = net.createServer(opts, (s) => {
    app.accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  app.port = (server.address() as net.AddressInfo).port;
  app.close = () =>
    new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return app;
}

const echo = (s: net.Socket) => s.pipe(s);

function tcpConfig(appPort: number, extra: Partial<InboundListenerConfig> = {}): ProxyConfig {
  return {
    inbound: { protocol: 'tcp', port: 0, address: '127.0.0.1', target: { host: '127.0.0.1', port: appPort }, ...extra },
    admin: { port: 0 },
    drainTimeoutMs: 300,
  };
}

/** A client connection that collects what it receives and notes its end and close. */
interface Client {
  socket: net.Socket;
  received(): Buffer;
  text(): string;
  ended: Promise<void>;
  closed: Promise<boolean>;
}

function track(socket: net.Socket): Client {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => {});
  const ended = new Promise<void>((r) => socket.once('end', () => r()));
  const closed = new Promise<boolean>((r) => socket.once('close', (hadError) => r(hadError)));
  return { socket, received: () => Buffer.concat(chunks), text: () => Buffer.concat(chunks).toString(), ended, closed };
}

async function connect(port: number, opts: { allowHalfOpen?: boolean } = {}): Promise<Client> {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: opts.allowHalfOpen ?? false });
  const client = track(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return client;
}

function connectTls(port: number, cert: Pem | null, ca: string): Promise<Client & { socket: tls.TLSSocket }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ port, host: '127.0.0.1', ca, cert: cert?.cert, key: cert?.key, servername: 'localhost' });
    const client = track(socket);
    socket.once('secureConnect', () => resolve(client as Client & { socket: tls.TLSSocket }));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before the handshake finished')));
  });
}

async function roundTrip(c: Client, data: string): Promise<string> {
  const before = c.received().length;
  c.socket.write(data);
  await waitFor(() => c.received().length >= before + data.length, 3000, `echo of ${data}`);
  return c.received().subarray(before).toString();
}

let proxy: TestProxy | undefined;
let app: App | undefined;
afterEach(async () => {
  await proxy?.close();
  await app?.close();
  proxy = undefined;
  app = undefined;
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('tcp listener', () => {
  it('forwards opaque bytes both ways and logs one line per connection', async () => {
    app = await startApp(echo);
    proxy = await startProxy(tcpConfig(app.port));
    const c = await connect(proxy.port('inbound'));
    expect(await roundTrip(c, 'hello\0\xff')).toBe('hello\0\xff');
    // Binary, larger than any socket buffer, intact.
    const payload = randomBytes(3 * 1024 * 1024);
    const before = c.received().length;
    c.socket.end(payload);
    await c.closed;
    expect(sha(c.received().subarray(before))).toBe(sha(payload));
    const line = await waitFor(() => proxy!.access().find((l) => (l as unknown as { closeReason?: string }).closeReason), 3000, 'access line');
    const total = payload.length + Buffer.byteLength('hello\0\xff');
    expect(line).toMatchObject({
      listener: 'inbound',
      protocol: 'tcp',
      upstream: `127.0.0.1:${app.port}`,
      closeReason: 'client-closed',
      bytesReceived: total,
      bytesSent: total,
    });
    expect(line.durationMs).toBeGreaterThan(0);
    const m = await metrics(proxy.adminUrl('/metrics'));
    expect(m.get('sidecarctl_proxy_tcp_bytes_total{listener="inbound",direction="received"}')).toBe(total);
    expect(m.get('sidecarctl_proxy_tcp_bytes_total{listener="inbound",direction="sent"}')).toBe(total);
    expect(m.get('sidecarctl_proxy_tcp_connections_closed_total{listener="inbound",reason="client-closed"}')).toBe(1);
    expect(m.get('sidecarctl_proxy_connections_total{listener="inbound"}')).toBe(1);
  });

  it('carries a server-first protocol: the greeting arrives before the client says anything', async () => {
    app = await startApp((s) => {
      s.write('* OK greeting\r\n');
      s.on('data', (d: Buffer) => s.write(d.toString() === 'PING\r\n' ? '+PONG\r\n' : '-ERR\r\n'));
    });
    proxy = await startProxy(tcpConfig(app.port));
    const t0 = performance.now();
    const c = await connect(proxy.port('inbound'));
    await waitFor(() => c.text() === '* OK greeting\r\n', 2000, 'greeting');
    // No sniffing wait on a plaintext tcp listener (permissive mode waits; see below).
    expect(performance.now() - t0).toBeLessThan(200);
    expect(await roundTrip(c, 'PING\r\n')).toBe('+PONG\r\n');
    c.socket.destroy();
  });

  it('passes a half-close on: the client ends its side and still gets the answer', async () => {
    app = await startApp((s) => {
      const got: Buffer[] = [];
      s.on('data', (d: Buffer) => got.push(d));
      // Answers only once the request is complete (its end), like `nc -q`, then ends too.
      s.on('end', () => setTimeout(() => s.end(`got ${Buffer.concat(got).toString()}`), 100));
    });
    proxy = await startProxy(tcpConfig(app.port));
    const c = await connect(proxy.port('inbound'));
    c.socket.end('request');
    await c.ended;
    expect(c.text()).toBe('got request');
    await c.closed;
    await waitFor(() => proxy!.access().some((l) => (l as unknown as { closeReason?: string }).closeReason === 'client-closed'), 2000, 'line');
  });

  it('passes a half-close the other way: the app ends first and keeps reading', async () => {
    let appGot = '';
    const appDone = new Promise<void>((resolve) => {
      void startApp((s) => {
        s.end('bye');
        s.on('data', (d: Buffer) => (appGot += d.toString()));
        s.on('end', () => resolve());
      }).then((a) => (app = a));
    });
    await waitFor(() => app, 2000, 'app');
    proxy = await startProxy(tcpConfig(app!.port));
    const c = await connect(proxy.port('inbound'), { allowHalfOpen: true });
    await c.ended; // the app's end reached us
    expect(c.text()).toBe('bye');
    c.socket.write('still talking');
    await sleep(100);
    c.socket.end(' and done');
    await appDone;
    expect(appGot).toBe('still talking and done');
    await c.closed;
    await waitFor(() => proxy!.access().some((l) => (l as unknown as { closeReason?: string }).closeReason === 'upstream-closed'), 2000, 'line');
  });

  it('applies backpressure: a client that does not read stalls the app instead of filling memory', async () => {
    const total = 128 * 1024 * 1024;
    let written = 0;
    app = await startApp((s) => {
      const chunk = Buffer.alloc(64 * 1024, 7);
      const pump = () => {
        while (written < total) {
          written += chunk.length;
          if (!s.write(chunk)) {
            s.once('drain', pump);
            return;
          }
        }
        s.end();
      };
      pump();
    });
    proxy = await startProxy(tcpConfig(app.port));
    const socket = net.connect({ port: proxy.port('inbound'), host: '127.0.0.1' });
    socket.pause(); // reads nothing for now
    await new Promise((r) => socket.once('connect', r));
    await sleep(1500);
    // Only socket buffers (kernel and one high-water mark per socket) can hold data: far below the
    // 128 MiB the app wants to send. Without backpressure the proxy would take it all at once.
    const stalledAt = written;
    expect(stalledAt).toBeLessThan(48 * 1024 * 1024);
    await sleep(300);
    expect(written).toBe(stalledAt);
    let received = 0;
    socket.on('data', (c: Buffer) => (received += c.length));
    socket.resume();
    await new Promise((r) => socket.once('end', r));
    expect(received).toBe(total);
    socket.destroy();
  }, 30_000);

  it('applies backpressure the other way: an app that does not read stalls the client', async () => {
    const total = 128 * 1024 * 1024;
    let appSocket: net.Socket | undefined;
    app = await startApp((s) => {
      appSocket = s;
      s.pause();
    });
    proxy = await startProxy(tcpConfig(app.port));
    const socket = net.connect({ port: proxy.port('inbound'), host: '127.0.0.1' });
    socket.on('error', () => {});
    await new Promise((r) => socket.once('connect', r));
    let written = 0;
    const chunk = Buffer.alloc(64 * 1024, 3);
    const pump = () => {
      while (written < total) {
        written += chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
    };
    pump();
    await sleep(1500);
    const stalledAt = written;
    expect(stalledAt).toBeLessThan(48 * 1024 * 1024);
    await sleep(300);
    expect(written).toBe(stalledAt);
    let received = 0;
    const done = new Promise((r) => appSocket!.once('end', r));
    appSocket!.on('data', (c: Buffer) => (received += c.length));
    appSocket!.resume();
    await done;
    expect(received).toBe(total);
    socket.destroy();
  }, 30_000);

  it('closes a connection idle for idleMs, not a busy one', async () => {
    app = await startApp(echo);
    proxy = await startProxy(tcpConfig(app.port, { timeouts: { idleMs: 400 } }));
    const idle = await connect(proxy.port('inbound'));
    const busy = await connect(proxy.port('inbound'));
    const t0 = Date.now();
    const ticker = setInterval(() => busy.socket.write('x'), 100);
    await idle.closed;
    const idleFor = Date.now() - t0;
    expect(idleFor).toBeGreaterThanOrEqual(350);
    expect(idleFor).toBeLessThan(2000);
    await sleep(500);
    clearInterval(ticker);
    expect(busy.socket.destroyed).toBe(false);
    expect(await roundTrip(busy, 'alive')).toBe('alive');
    busy.socket.destroy();
    await waitFor(() => proxy!.access().some((l) => (l as unknown as { closeReason?: string }).closeReason === 'idle-timeout'), 2000, 'line');
  });

  it('caps open connections at circuitBreaker.maxConnections; the excess is closed at once', async () => {
    app = await startApp(echo);
    proxy = await startProxy(tcpConfig(app.port, { circuitBreaker: { maxConnections: 2 } }));
    const port = proxy.port('inbound');
    const a = await connect(port);
    const b = await connect(port);
    expect(await roundTrip(a, 'a')).toBe('a');
    expect(await roundTrip(b, 'b')).toBe('b');
    const c = await connect(port);
    c.socket.write('c');
    await c.closed;
    expect(c.text()).toBe('');
    expect(app.accepted).toBe(2);
    a.socket.destroy();
    await waitFor(async () => (await metrics(proxy!.adminUrl('/metrics'))).get('sidecarctl_proxy_active_connections{listener="inbound"}') === 1, 2000, 'a gone');
    const d = await connect(port);
    expect(await roundTrip(d, 'd')).toBe('d');
    b.socket.destroy();
    d.socket.destroy();
    const m = await metrics(proxy.adminUrl('/metrics'));
    expect(m.get('sidecarctl_proxy_tcp_connections_closed_total{listener="inbound",reason="max-connections"}')).toBe(1);
    expect(proxy.access().some((l) => (l as unknown as { closeReason?: string }).closeReason === 'max-connections')).toBe(true);
  });

  it('rate-limits new connections (token bucket); the excess is closed at once', async () => {
    app = await startApp(echo);
    proxy = await startProxy(tcpConfig(app.port, { rateLimit: { rps: 0.5, burst: 2 } }));
    const port = proxy.port('inbound');
    const a = await connect(port);
    const b = await connect(port);
    const c = await connect(port);
    await c.closed;
    expect(await roundTrip(a, 'a')).toBe('a');
    expect(await roundTrip(b, 'b')).toBe('b');
    expect(app.accepted).toBe(2);
    a.socket.destroy();
    b.socket.destroy();
    const m = await metrics(proxy.adminUrl('/metrics'));
    expect(m.get('sidecarctl_proxy_rate_limited_total{listener="inbound"}')).toBe(1);
    expect(m.get('sidecarctl_proxy_tcp_connections_closed_total{listener="inbound",reason="rate-limited"}')).toBe(1);
  });

  it('reports an app that is down as upstream-connect-failure', async () => {
    const dead = await startApp(echo);
    const port = dead.port;
    await dead.close();
    proxy = await startProxy(tcpConfig(port));
    const c = await connect(proxy.port('inbound'));
    await c.closed;
    await waitFor(() => proxy!.access().some((l) => (l as unknown as { closeReason?: string }).closeReason === 'upstream-connect-failure'), 2000, 'line');
  });

  it('cuts connections still open at the end of a drain', async () => {
    app = await startApp(echo);
    proxy = await startProxy(tcpConfig(app.port));
    const c = await connect(proxy.port('inbound'));
    expect(await roundTrip(c, 'x')).toBe('x');
    const t0 = Date.now();
    await proxy.close();
    await c.closed;
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(proxy.access().some((l) => (l as unknown as { closeReason?: string }).closeReason === 'drain')).toBe(true);
    proxy = undefined;
  });
});

describe('tcp listener: reloads and the bundle', () => {
  it('a reload turns an http listener into a tcp one on the same port', async () => {
    const backend = await startBackend((_req, res) => res.end('http'));
    app = await startApp(echo);
    try {
      const http = tcpConfig(backend.port, { protocol: 'http' });
      proxy = await startProxy(http, { watch: false });
      const port = proxy.port('inbound');
      expect((await request(proxy.url('inbound'))).body).toBe('http');
      proxy.writeConfig(tcpConfig(app.port, { port, timeouts: { idleMs: 5000 } }));
      expect(await proxy.handle.reload()).toBe('applied');
      expect(proxy.port('inbound')).toBe(port);
      const c = await connect(port);
      expect(await roundTrip(c, 'raw bytes, no HTTP')).toBe('raw bytes, no HTTP');
      c.socket.destroy();
    } finally {
      await backend.close();
    }
  });

  it('the bundle (child process) carries tcp and logs the connection', async () => {
    app = await startApp((s) => {
      s.write('greeting\n');
      s.pipe(s);
    });
    const child = await spawnProxy(tcpConfig(app.port));
    try {
      const c = await connect(child.ports.inbound!);
      await waitFor(() => c.text() === 'greeting\n', 2000, 'greeting');
      expect(await roundTrip(c, 'ping')).toBe('ping');
      c.socket.end();
      await waitFor(() => child.stdout().includes('"closeReason":"client-closed"'), 3000, 'access line');
      const line = JSON.parse(child.stdout().trim().split('\n').pop()!) as Record<string, unknown>;
      expect(line).toMatchObject({ listener: 'inbound', protocol: 'tcp', bytesReceived: 4, bytesSent: 13, closeReason: 'client-closed' });
    } finally {
      child.child.kill('SIGTERM');
      expect(await child.exit).toBe(0);
    }
  });
});

describe('tcp and tls listeners with mTLS', () => {
  let pki: Pki;
  let volume: SecretVolume;
  beforeAll(async () => {
    pki = await createPki();
    volume = new SecretVolume(tempDir('sidecarctl-certs-'));
    volume.write({ 'tls.crt': pki.server.cert, 'tls.key': pki.server.key, 'ca.crt': pki.ca.cert });
  });
  afterAll(() => {});

  const mtls = (mode: 'strict' | 'permissive') => ({
    mode,
    certFile: volume.path('tls.crt'),
    keyFile: volume.path('tls.key'),
    caFile: volume.path('ca.crt'),
    allowedPeers: [CLIENT_SPIFFE],
  });

  it('strict tcp: plaintext is refused, a valid client certificate gets through and the app sees plaintext', async () => {
    let appSaw = '';
    app = await startApp((s) => {
      s.write('* OK greeting\r\n');
      s.on('data', (d: Buffer) => {
        appSaw += d.toString('latin1');
        s.write(d);
      });
    });
    proxy = await startProxy(tcpConfig(app.port, { mtls: mtls('strict') }));
    const port = proxy.port('inbound');
    const plain = await connect(port);
    plain.socket.write('PING\r\n');
    await plain.closed;
    expect(plain.text()).toBe('');
    expect(app.accepted).toBe(0);

    await expect(connectTls(port, null, pki.ca.cert).then((c) => c.closed)).resolves.toBeDefined();
    await expect(connectTls(port, pki.clientWrongSan, pki.ca.cert).then(async (c) => { c.socket.write('x'); await c.closed; return c.text(); })).resolves.toBe('');
    expect(app.accepted).toBe(0);

    const c = await connectTls(port, pki.client, pki.ca.cert);
    await waitFor(() => c.text() === '* OK greeting\r\n', 2000, 'greeting over TLS');
    expect(await roundTrip(c, 'PING\r\n')).toBe('PING\r\n');
    expect(appSaw).toBe('PING\r\n'); // decrypted: the proxy terminated TLS
    c.socket.destroy();
    const m = await metrics(proxy.adminUrl('/metrics'));
    expect(m.get('sidecarctl_proxy_tls_peers_rejected_total{listener="inbound"}')).toBe(1);
  });

  it.each(['tcp', 'http'] as const)('strict %s: a client that stalls in the TLS handshake is closed after headersMs', async (protocol) => {
    app = await startApp(echo);
    proxy = await startProxy(tcpConfig(app.port, { protocol, mtls: mtls('strict'), timeouts: { headersMs: 300 } }));
    const t0 = Date.now();
    const c = await connect(proxy.port('inbound'));
    c.socket.write('\x16'); // the first byte of a handshake record, then nothing
    await c.closed;
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(app.accepted).toBe(0);
  });

  it('permissive tcp: TLS and plaintext on one port, server-first plaintext clients included', async () => {
    app = await startApp((s) => {
      s.write('hi\n');
      s.pipe(s);
    });
    proxy = await startProxy(tcpConfig(app.port, { mtls: mtls('permissive') }));
    const port = proxy.port('inbound');
    const plain = await connect(port);
    // Says nothing: after a short wait the proxy takes it for plaintext, and the greeting comes.
    await waitFor(() => plain.text() === 'hi\n', 3000, 'plaintext greeting');
    expect(await roundTrip(plain, 'plain')).toBe('plain');
    const secure = await connectTls(port, pki.client, pki.ca.cert);
    await waitFor(() => secure.text() === 'hi\n', 2000, 'TLS greeting');
    expect(await roundTrip(secure, 'secure')).toBe('secure');
    plain.socket.destroy();
    secure.socket.destroy();
  });

  it('tls passthrough under strict mTLS: the app terminates TLS, plaintext never reaches it', async () => {
    // The app's own TLS server, with its own certificate (a different CN from the proxy's).
    const appCert = await pki.ca.issue({ cn: 'the-app', dns: ['localhost'], usage: 'server' });
    let appPeer = '';
    const server = tls.createServer({ cert: appCert.cert, key: appCert.key, ca: pki.ca.cert, requestCert: true }, (s) => {
      appPeer = s.getPeerCertificate().subjectaltname ?? '';
      s.pipe(s);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    let accepted = 0;
    server.on('connection', () => accepted++);
    try {
      const port = (server.address() as net.AddressInfo).port;
      proxy = await startProxy(tcpConfig(port, { protocol: 'tls', mtls: mtls('strict') }));
      const plain = await connect(proxy.port('inbound'));
      plain.socket.write('GET / HTTP/1.1\r\n\r\n');
      await plain.closed;
      expect(plain.text()).toBe('');
      expect(accepted).toBe(0);
      const c = await connectTls(proxy.port('inbound'), pki.client, pki.ca.cert);
      expect(c.socket.getPeerCertificate().subject.CN).toBe('the-app'); // not the proxy's certificate
      expect(await roundTrip(c, 'through')).toBe('through');
      expect(appPeer).toContain(CLIENT_SPIFFE); // the client certificate reached the app
      c.socket.destroy();
      await waitFor(() => proxy!.access().some((l) => (l as unknown as { closeReason?: string }).closeReason === 'not-tls'), 2000, 'not-tls line');
      const line = proxy.access().find((l) => (l as unknown as { closeReason?: string }).closeReason === 'not-tls')!;
      expect(line).toMatchObject({ protocol: 'tls', bytesReceived: 18, bytesSent: 0 });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('a reload to strict mTLS cuts the plaintext connections still open, and keeps the TLS ones', async () => {
    app = await startApp(echo);
    proxy = await startProxy(tcpConfig(app.port, { mtls: mtls('permissive') }), { watch: false });
    const port = proxy.port('inbound');
    const plain = await connect(port);
    expect(await roundTrip(plain, 'plain')).toBe('plain');
    const secure = await connectTls(port, pki.client, pki.ca.cert);
    expect(await roundTrip(secure, 'secure')).toBe('secure');
    proxy.writeConfig(tcpConfig(app.port, { port, mtls: mtls('strict') }));
    expect(await proxy.handle.reload()).toBe('applied');
    await plain.closed;
    expect(await roundTrip(secure, 'still here')).toBe('still here');
    const again = await connect(port);
    again.socket.write('PING\r\n');
    await again.closed;
    expect(again.text()).toBe('');
    secure.socket.destroy();
    expect(proxy.access().some((l) => (l as unknown as { closeReason?: string }).closeReason === 'plaintext-refused')).toBe(true);
  });

  it('tls passthrough without mTLS forwards whatever comes', async () => {
    app = await startApp(echo);
    proxy = await startProxy(tcpConfig(app.port, { protocol: 'tls' }));
    const c = await connect(proxy.port('inbound'));
    expect(await roundTrip(c, 'not even tls')).toBe('not even tls');
    c.socket.destroy();
  });
});

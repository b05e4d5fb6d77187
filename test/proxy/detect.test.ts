/**
 * `detect` listeners on real sockets: HTTP/1.1, h2c and h2 are HTTP; other first bytes, silence
 * (a server-first protocol) and, without mTLS, a TLS handshake go through as raw TCP; under mTLS
 * the decrypted bytes decide.
 */
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { InboundListenerConfig, ProxyConfig } from '../../src/proxy/config.js';
import { request, startBackend, startProxy, tempDir, waitFor, type Backend, type TestProxy } from './helpers/harness.js';
import { CLIENT_SPIFFE, createPki, type Pki } from './helpers/pki.js';
import { SecretVolume } from './helpers/secret-volume.js';

function detectConfig(port: number, extra: Partial<InboundListenerConfig> = {}): ProxyConfig {
  return { inbound: { protocol: 'detect', port: 0, address: '127.0.0.1', target: { host: '127.0.0.1', port }, ...extra }, admin: { port: 0 }, drainTimeoutMs: 300 };
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

/** Sends `data` (if any) and collects what comes back until `until` matches or the socket ends. */
function converse(socket: net.Socket, data: string | null, until: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    socket.on('data', (c: Buffer) => {
      got += c.toString();
      if (until.test(got)) {
        socket.destroy();
        resolve(got);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(got));
    if (data !== null) socket.write(data);
  });
}

function h2get(url: string, options: http2.SecureClientSessionOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url, options);
    session.on('error', reject);
    const req = session.request({ ':path': '/h2' });
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      session.close();
      resolve(body);
    });
    req.on('error', reject);
  });
}

describe('detect, plaintext', () => {
  let backend: Backend;
  let echo: net.Server;
  let greeter: net.Server;
  let tlsApp: tls.Server;
  let pki: Pki;
  const ports = { echo: 0, greeter: 0, tls: 0 };
  let proxy: TestProxy | undefined;
  beforeAll(async () => {
    backend = await startBackend((req, res) => res.end(`http ${req.url}`));
    echo = net.createServer((s) => s.pipe(s).on('error', () => {}));
    greeter = net.createServer((s) => {
      s.write('+HELLO\r\n');
      s.on('data', () => s.write('+PONG\r\n'));
      s.on('error', () => {});
    });
    pki = await createPki();
    tlsApp = tls.createServer({ cert: pki.server.cert, key: pki.server.key }, (s) => s.end('tls app here'));
    ports.echo = await listen(echo);
    ports.greeter = await listen(greeter);
    ports.tls = await listen(tlsApp);
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });
  afterAll(async () => {
    await backend.close();
    echo.close();
    greeter.close();
    tlsApp.close();
  });

  it('takes HTTP/1.1 and h2c as HTTP', async () => {
    proxy = await startProxy(detectConfig(backend.port));
    expect((await request(proxy.url('inbound', '/one'))).body).toBe('http /one');
    expect(await h2get(`http://127.0.0.1:${proxy.port('inbound')}`)).toBe('http /h2');
    await waitFor(() => proxy!.access().length >= 2 || undefined);
    expect(proxy.access().map((l) => l.protocol ?? 'h1')).toEqual(['h1', 'h2']);
  });

  it('passes other bytes through as TCP, and a silent client gets a server-first greeting', async () => {
    proxy = await startProxy(detectConfig(ports.echo));
    expect(await converse(net.connect(proxy.port('inbound'), '127.0.0.1'), '\x00\x01binary\n', /binary\n/)).toBe('\x00\x01binary\n');
    proxy.writeConfig(detectConfig(ports.greeter));
    await waitFor(() => proxy!.events().some((e) => e.msg === 'config reloaded') || undefined);
    const started = performance.now();
    const greeting = await converse(net.connect(proxy.port('inbound'), '127.0.0.1'), null, /\+HELLO/);
    expect(greeting).toBe('+HELLO\r\n');
    expect(performance.now() - started).toBeGreaterThan(250); // waited out DETECT_WAIT_MS first
  });

  it('passes a TLS handshake through to an app that terminates TLS itself', async () => {
    proxy = await startProxy(detectConfig(ports.tls));
    const socket = tls.connect({ port: proxy.port('inbound'), host: '127.0.0.1', ca: pki.ca.cert, servername: 'localhost' });
    expect(await converse(socket, null, /tls app here/)).toBe('tls app here');
  });

  it('under strict mTLS, looks at the decrypted bytes: h2 (ALPN), HTTP/1.1 or raw TCP', async () => {
    const volume = new SecretVolume(tempDir('sidecarctl-detect-certs-'));
    volume.write({ 'tls.crt': pki.server.cert, 'tls.key': pki.server.key, 'ca.crt': pki.ca.cert });
    const mtls = { mode: 'strict' as const, certFile: volume.path('tls.crt'), keyFile: volume.path('tls.key'), caFile: volume.path('ca.crt'), allowedPeers: [CLIENT_SPIFFE] };
    const client = { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key, servername: 'localhost' };
    proxy = await startProxy(detectConfig(backend.port, { mtls }));
    const port = proxy.port('inbound');
    expect(await h2get(`https://127.0.0.1:${port}`, client)).toBe('http /h2');
    const h1 = await converse(tls.connect({ ...client, port, host: '127.0.0.1' }), 'GET /tls1 HTTP/1.1\r\nhost: x\r\n\r\n', /http \/tls1/);
    expect(h1).toMatch(/^HTTP\/1\.1 200/);
    // Plaintext is refused, HTTP or not.
    expect(await converse(net.connect(port, '127.0.0.1'), 'GET / HTTP/1.1\r\nhost: x\r\n\r\n', /HTTP/)).toBe('');
    proxy.writeConfig(detectConfig(ports.echo, { mtls }));
    await waitFor(() => proxy!.events().some((e) => e.msg === 'config reloaded') || undefined);
    expect(await converse(tls.connect({ ...client, port, host: '127.0.0.1' }), 'raw bytes\n', /raw bytes\n/)).toBe('raw bytes\n');
  });
});

/**
 * HTTP/2 and gRPC through the bundled proxy, with real clients and servers on 127.0.0.1:
 * @grpc/grpc-js (unary, server-, client- and bidirectional streaming, deadlines, cancellation,
 * large messages, trailers, retries on grpc-status, the rate limit as a gRPC status), curl and
 * node's http2 client for h2c and h2 over TLS (ALPN) with mTLS, HTTP/1.1 clients of HTTP/2 apps,
 * and the rapid-reset protection.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { client, startGrpcApp, unary, type Echo, type GrpcApp } from './helpers/grpc.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { InboundListenerConfig, ProxyConfig } from '../../src/proxy/config.js';
import { metrics, sleep, startBackend, startProxy, tempDir, waitFor, type Backend, type TestProxy } from './helpers/harness.js';
import { CLIENT_SPIFFE, createPki, type Pki } from './helpers/pki.js';
import { SecretVolume } from './helpers/secret-volume.js';

const run = promisify(execFile);
function grpcConfig(appPort: number, extra: Partial<InboundListenerConfig> = {}): ProxyConfig {
  return {
    inbound: { protocol: 'grpc', port: 0, address: '127.0.0.1', target: { host: '127.0.0.1', port: appPort }, ...extra },
    admin: { port: 0 },
    drainTimeoutMs: 300,
  };
}

describe('gRPC listener to a grpc-js app', () => {
  let app: GrpcApp;
  let proxy: TestProxy;
  let echo: Echo;

  beforeAll(async () => {
    app = await startGrpcApp();
    proxy = await startProxy(grpcConfig(app.port, { retries: { attempts: 3, retryOn: ['unavailable', 'connect-failure'] } }));
    echo = client(proxy.port('inbound'));
  });
  afterAll(async () => {
    echo?.close();
    await proxy?.close();
    await app?.close();
  });

  it('carries unary calls and the app trailers', async () => {
    const { reply, trailers } = await unary(echo, 'hello');
    expect(reply?.toString()).toBe('hello');
    expect(trailers?.get('x-app-trailer')).toEqual(['kept']);
    const line = await waitFor(() => proxy.access().find((l) => l.path === '/test.Echo/Unary'));
    expect(line).toMatchObject({ status: 200, protocol: 'h2', grpcStatus: 0, attempts: 1, error: null });
  });

  it('carries server streaming, client streaming and bidirectional calls', async () => {
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = echo.serverStream(Buffer.from('5')) as grpc.ClientReadableStream<Buffer>;
      call.on('data', (b: Buffer) => messages.push(b.toString()));
      call.on('end', resolve);
      call.on('error', reject);
    });
    expect(messages).toEqual(['msg 0', 'msg 1', 'msg 2', 'msg 3', 'msg 4']);

    const total = await new Promise<string>((resolve, reject) => {
      const call = echo.clientStream((err: grpc.ServiceError | null, r: Buffer) => (err ? reject(err) : resolve(r.toString()))) as grpc.ClientWritableStream<Buffer>;
      for (let i = 0; i < 50; i++) call.write(Buffer.alloc(1000, 1));
      call.end();
    });
    expect(total).toBe('50000');

    // A bidirectional client that only sends its next message after the answer to the last: a
    // proxy holding the request body back (for retries) would deadlock here.
    const answers = await new Promise<string[]>((resolve, reject) => {
      const got: string[] = [];
      const call = echo.bidi() as grpc.ClientDuplexStream<Buffer, Buffer>;
      call.on('data', (b: Buffer) => {
        got.push(b.toString());
        if (got.length < 3) call.write(Buffer.from(`ping ${got.length}`));
        else call.end();
      });
      call.on('end', () => resolve(got));
      call.on('error', reject);
      call.write(Buffer.from('ping 0'));
    });
    expect(answers).toEqual(['echo ping 0', 'echo ping 1', 'echo ping 2']);
  });

  it('carries large messages both ways (8 MiB, flow control and backpressure)', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 7);
    big[12345] = 9;
    const { reply, error } = await unary(echo, big);
    expect(error).toBeUndefined();
    expect(reply!.equals(big)).toBe(true);
  });

  it('retries a call the app answered UNAVAILABLE (trailers-only), within the retry policy', async () => {
    app.failNext = { code: grpc.status.UNAVAILABLE, times: 2 };
    const before = app.calls;
    const { reply } = await unary(echo, 'retry me');
    expect(reply?.toString()).toBe('retry me');
    expect(app.calls - before).toBe(3);
    const line = await waitFor(() => proxy.access().find((l) => l.path === '/test.Echo/Unary' && l.attempts === 3));
    expect(line.grpcStatus).toBe(0);
  });

  it('does not retry statuses the policy does not list', async () => {
    app.failNext = { code: grpc.status.INVALID_ARGUMENT, times: 1 };
    const before = app.calls;
    const { error } = await unary(echo, 'bad');
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(app.calls - before).toBe(1);
  });

  it('passes a client cancellation on to the app', async () => {
    const before = app.cancelled;
    const call = echo.serverStream(Buffer.from('1000')) as grpc.ClientReadableStream<Buffer>;
    await new Promise<void>((r) => call.once('data', () => r()));
    call.on('error', () => {});
    call.cancel();
    await waitFor(() => app.cancelled > before, 3000, 'the app to see the cancellation');
  });

  it('ends a call at its deadline with DEADLINE_EXCEEDED', async () => {
    const started = performance.now();
    const { error } = await unary(echo, 'sleep:3000', { deadline: Date.now() + 300 });
    expect(error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(performance.now() - started).toBeLessThan(2500);
  });

  it('counts calls by grpc-status in /metrics', async () => {
    const m = await metrics(proxy.adminUrl('/metrics'));
    const ok = [...m].find(([k]) => k.startsWith('sidecarctl_proxy_grpc_responses_total{') && k.includes('grpc_status="0"'));
    expect(ok?.[1]).toBeGreaterThan(0);
  });
});

describe('gRPC status answers from the proxy', () => {
  let app: GrpcApp;
  let proxy: TestProxy | undefined;
  beforeAll(async () => {
    app = await startGrpcApp();
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });
  afterAll(async () => {
    await app?.close();
  });

  it('answers the rate limit with RESOURCE_EXHAUSTED in trailers (HTTP 200), never a 429', async () => {
    proxy = await startProxy(grpcConfig(app.port, { rateLimit: { rps: 1, burst: 1 } }));
    const echo = client(proxy.port('inbound'));
    expect((await unary(echo, 'one')).reply?.toString()).toBe('one');
    const { error } = await unary(echo, 'two');
    echo.close();
    expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const line = await waitFor(() => proxy!.access().find((l) => l.error === 'rate-limited'));
    expect(line).toMatchObject({ status: 200, grpcStatus: 8 });
  });

  it('answers UNAVAILABLE when the app is down', async () => {
    const down = await startGrpcApp();
    const port = down.port;
    await down.close();
    proxy = await startProxy(grpcConfig(port));
    const echo = client(proxy.port('inbound'));
    const { error } = await unary(echo, 'anyone?');
    echo.close();
    expect(error?.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('ends a streaming call that outlives its grpc-timeout with DEADLINE_EXCEEDED in the trailers, after its messages so far', async () => {
    proxy = await startProxy(grpcConfig(app.port));
    // A raw HTTP/2 client with no deadline of its own: only the proxy can end the call.
    const session = http2.connect(`http://127.0.0.1:${proxy.port('inbound')}`);
    const message = Buffer.from('1000');
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]);
    const result = await new Promise<{ bytes: number; trailers: http2.IncomingHttpHeaders }>((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': '/test.Echo/ServerStream', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '300m' });
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.length));
      req.on('trailers', (trailers) => resolve({ bytes, trailers }));
      req.on('error', reject);
      req.end(framed);
    });
    session.close();
    expect(result.bytes).toBeGreaterThan(0);
    expect(result.trailers['grpc-status']).toBe('4');
    const line = await waitFor(() => proxy!.access().find((l) => l.path === '/test.Echo/ServerStream'));
    expect(line).toMatchObject({ grpcStatus: 4, error: 'deadline-exceeded' });
  });

  it('honours grpc-timeout, capped by timeouts.requestMs', async () => {
    proxy = await startProxy(grpcConfig(app.port, { timeouts: { requestMs: 400, idleMs: 60_000, headersMs: 10_000 } }));
    // A client with a 10 s deadline: the proxy's 400 ms cap ends the call, as DEADLINE_EXCEEDED.
    const echo = client(proxy.port('inbound'));
    const started = performance.now();
    const { error } = await unary(echo, 'sleep:3000', { deadline: Date.now() + 10_000 });
    echo.close();
    expect(error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    const took = performance.now() - started;
    expect(took).toBeGreaterThan(350);
    expect(took).toBeLessThan(2500);
  });
});

describe('h2c and HTTP/1.1 clients', () => {
  let backend: Backend;
  let proxy: TestProxy | undefined;
  beforeAll(async () => {
    backend = await startBackend((req, res, body) => {
      res.setHeader('x-seen', `${req.method} ${req.url} ${req.headers.host} ${req.headers['x-forwarded-proto']} ${body.length}`);
      res.end('hello');
    });
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });
  afterAll(async () => {
    await backend?.close();
  });

  it('serves h2c with prior knowledge (curl) and HTTP/1.1 on the same http listener', async () => {
    proxy = await startProxy({ inbound: { port: 0, address: '127.0.0.1', target: { host: '127.0.0.1', port: backend.port } }, admin: { port: 0 } });
    const url = proxy.url('inbound', '/path?q=1');
    const h2 = await run('curl', ['-s', '-i', '--http2-prior-knowledge', '--data-binary', 'abc', url]);
    expect(h2.stdout).toMatch(/^HTTP\/2 200/);
    expect(h2.stdout).toMatch(/x-seen: POST \/path\?q=1 127\.0\.0\.1:\d+ http 3/);
    const h1 = await run('curl', ['-s', '-i', '--http1.1', url]);
    expect(h1.stdout).toMatch(/^HTTP\/1\.1 200/);
    const lines = proxy.access();
    expect(lines.map((l) => l.protocol ?? 'h1')).toEqual(['h2', 'h1']);
  });

  it('carries 200 concurrent h2 streams on one connection', async () => {
    proxy = await startProxy({ inbound: { port: 0, address: '127.0.0.1', target: { host: '127.0.0.1', port: backend.port } }, admin: { port: 0 } });
    const session = http2.connect(`http://127.0.0.1:${proxy.port('inbound')}`);
    const statuses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        new Promise<number>((resolve, reject) => {
          const req = session.request({ ':path': `/${i}` });
          let status = 0;
          req.on('response', (h) => (status = Number(h[':status'])));
          req.on('data', () => {});
          req.on('end', () => resolve(status));
          req.on('error', reject);
        }),
      ),
    );
    session.close();
    expect(statuses.every((s) => s === 200)).toBe(true);
  });

  it('lets HTTP/1.1 clients call an HTTP/2 app (http2 listener), trailers dropped for them', async () => {
    const app = http2.createServer();
    app.on('stream', (stream, headers) => {
      stream.respond({ ':status': 200, 'x-path': String(headers[':path']) }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-done': 'yes' }));
      stream.end('from h2');
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const appPort = (app.address() as { port: number }).port;
    proxy = await startProxy({ inbound: { protocol: 'http2', port: 0, address: '127.0.0.1', target: { host: '127.0.0.1', port: appPort } }, admin: { port: 0 } });
    const body = await new Promise<string>((resolve, reject) => {
      http.get(proxy!.url('inbound', '/h1-to-h2'), (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(`${res.statusCode} ${String(res.headers['x-path'])} ${text}`));
      }).on('error', reject);
    });
    expect(body).toBe('200 /h1-to-h2 from h2');
    // And an h2 client gets the trailers.
    const session = http2.connect(`http://127.0.0.1:${proxy.port('inbound')}`);
    const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
      const req = session.request({ ':path': '/t' });
      req.on('trailers', resolve);
      req.on('data', () => {});
      req.on('error', reject);
    });
    session.close();
    app.close();
    expect(trailers['x-done']).toBe('yes');
  });

  it('closes a connection that resets streams faster than limits.maxResetsPerSecond (rapid reset)', async () => {
    let slowCalls = 0;
    const slow = await startBackend((_req, res) => {
      slowCalls++;
      setTimeout(() => res.end('late'), 200);
    });
    proxy = await startProxy({
      inbound: { port: 0, address: '127.0.0.1', target: { host: '127.0.0.1', port: slow.port } },
      admin: { port: 0 },
      limits: { maxResetsPerSecond: 50 },
    });
    // Raw frames, as an attacker sends them: HEADERS then RST_STREAM(CANCEL) at once, in bursts.
    // (node's own client does not put the RST on the wire when the stream is this young.)
    const socket = net.connect(proxy.port('inbound'), '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    socket.on('error', () => {});
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(Buffer.concat([http2Preface(), frame(4, 0, 0, Buffer.alloc(0))]));
    const block = Buffer.from([0x82, 0x86, 0x84, 0x41, 9, ...Buffer.from('127.0.0.1')]); // GET http / 127.0.0.1
    let sent = 0;
    for (let burst = 0; burst < 40 && !socket.destroyed; burst++) {
      const frames: Buffer[] = [];
      for (let i = 0; i < 50; i++, sent++) frames.push(frame(1, 0x05, 1 + 2 * sent, block), frame(3, 0, 1 + 2 * sent, Buffer.from([0, 0, 0, 8])));
      socket.write(Buffer.concat(frames));
      await sleep(5);
    }
    await closed;
    const goaway = findFrame(Buffer.concat(received), 7);
    expect(goaway?.readUInt32BE(4)).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    // The limit's burst (100) let some streams through; far fewer than were sent.
    expect(sent).toBeGreaterThan(100);
    await sleep(300);
    expect(slowCalls).toBeLessThanOrEqual(150);
    await slow.close();
  });
});

describe('h2 over TLS (ALPN) with mTLS', () => {
  let pki: Pki;
  let volume: SecretVolume;
  let app: GrpcApp;
  let proxy: TestProxy;
  beforeAll(async () => {
    pki = await createPki();
    volume = new SecretVolume(tempDir('sidecarctl-h2-certs-'));
    volume.write({ 'tls.crt': pki.server.cert, 'tls.key': pki.server.key, 'ca.crt': pki.ca.cert });
    app = await startGrpcApp();
    const mtls = { mode: 'strict' as const, certFile: volume.path('tls.crt'), keyFile: volume.path('tls.key'), caFile: volume.path('ca.crt'), allowedPeers: [CLIENT_SPIFFE] };
    proxy = await startProxy(grpcConfig(app.port, { mtls }));
  });
  afterAll(async () => {
    await proxy?.close();
    await app?.close();
  });

  it('serves a grpc-js client with its client certificate, over ALPN h2', async () => {
    const creds = grpc.credentials.createSsl(Buffer.from(pki.ca.cert), Buffer.from(pki.client.key), Buffer.from(pki.client.cert));
    const echo = client(proxy.port('inbound'), creds, { 'grpc.ssl_target_name_override': 'localhost' });
    const { reply, error } = await unary(echo, 'secure');
    echo.close();
    expect(error).toBeUndefined();
    expect(reply?.toString()).toBe('secure');
  });

  it('refuses h2 clients without a certificate, and plaintext h2c', async () => {
    const noCert = client(proxy.port('inbound'), grpc.credentials.createSsl(Buffer.from(pki.ca.cert)), { 'grpc.ssl_target_name_override': 'localhost' });
    expect((await unary(noCert, 'x', { deadline: Date.now() + 3000 })).error?.code).toBe(grpc.status.UNAVAILABLE);
    noCert.close();
    const plain = client(proxy.port('inbound'));
    expect((await unary(plain, 'x', { deadline: Date.now() + 3000 })).error?.code).toBe(grpc.status.UNAVAILABLE);
    plain.close();
    const before = app.calls;
    expect(app.calls).toBe(before);
  });

  it('negotiates h2 for curl with a client certificate', async () => {
    const dir = tempDir('sidecarctl-h2-curl-');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${dir}/ca.crt`, pki.ca.cert);
    writeFileSync(`${dir}/c.crt`, pki.client.cert);
    writeFileSync(`${dir}/c.key`, pki.client.key);
    const { stdout } = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_version}', '--cacert', `${dir}/ca.crt`, '--cert', `${dir}/c.crt`, '--key', `${dir}/c.key`,
      '-H', 'content-type: application/grpc', '--data-binary', '@/dev/null', `https://localhost:${proxy.port('inbound')}/test.Echo/Unary`]);
    expect(stdout).toBe('2');
  });
});

/** An HTTP/2 frame: 9-byte header (length, type, flags, stream id) and payload (RFC 9113 §4.1). */
function frame(type: number, flags: number, id: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(id, 5);
  return Buffer.concat([head, payload]);
}

function http2Preface(): Buffer {
  return Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
}

/** The payload of the first frame of `type` in a server's byte stream. */
function findFrame(bytes: Buffer, type: number): Buffer | null {
  for (let at = 0; at + 9 <= bytes.length; ) {
    const length = bytes.readUIntBE(at, 3);
    if (bytes[at + 3] === type) return bytes.subarray(at + 9, at + 9 + length);
    at += 9 + length;
  }
  return null;
}

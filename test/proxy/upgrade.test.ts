import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { baseConfig, startProxy, waitFor, type TestProxy } from './helpers/harness.js';

let proxy: TestProxy;
let upstream: http.Server;

afterEach(async () => {
  await proxy?.close();
  upstream?.closeAllConnections();
  upstream?.close();
});

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** A WebSocket-style upgrade server that echoes raw bytes back (no framing: enough for a proxy). */
async function startEchoUpgradeServer(): Promise<number> {
  upstream = http.createServer((_req, res) => res.end('not an upgrade'));
  upstream.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    if (req.headers.upgrade !== 'websocket') {
      socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}${GUID}`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Seen-Forwarded-For: ${String(req.headers['x-forwarded-for'])}\r\n\r\n`);
    if (head.length) socket.write(head);
    socket.pipe(socket);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  return (upstream.address() as net.AddressInfo).port;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

describe('WebSocket / Upgrade', () => {
  it('passes the handshake through and pipes raw bytes both ways after 101', async () => {
    const port = await startEchoUpgradeServer();
    proxy = await startProxy(baseConfig(port));
    const socket = await connect(proxy.port('inbound'));
    let received = '';
    socket.on('data', (c: Buffer) => (received += c.toString('latin1')));
    const key = Buffer.from('0123456789abcdef').toString('base64');
    socket.write(`GET /chat HTTP/1.1\r\nHost: example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await waitFor(() => received.includes('\r\n\r\n'), 3000, '101 response');
    expect(received).toMatch(/^HTTP\/1\.1 101 /);
    expect(received.toLowerCase()).toContain('upgrade: websocket');
    expect(received).toContain(`Sec-WebSocket-Accept: ${createHash('sha1').update(key + GUID).digest('base64')}`);
    expect(received).toContain('X-Seen-Forwarded-For: 127.0.0.1');

    const headEnd = received.indexOf('\r\n\r\n') + 4;
    const messages = ['ping-1', 'ping-2 with more bytes', 'x'.repeat(100_000)];
    for (const m of messages) socket.write(m);
    const expected = messages.join('');
    await waitFor(() => received.length - headEnd >= expected.length, 5000, 'echo');
    expect(received.slice(headEnd)).toBe(expected);
    socket.destroy();
    const line = await waitFor(() => proxy.access().find((l) => l.path === '/chat'));
    expect(line.status).toBe(101);
    expect(line.bytesReceived).toBe(expected.length);
  });

  it('relays a refused upgrade as a normal response', async () => {
    const port = await startEchoUpgradeServer();
    proxy = await startProxy(baseConfig(port));
    const socket = await connect(proxy.port('inbound'));
    let received = '';
    socket.on('data', (c: Buffer) => (received += c.toString('latin1')));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n');
    await waitFor(() => received.includes('\r\n\r\n'));
    expect(received).toMatch(/^HTTP\/1\.1 400 /);
    socket.destroy();
  });
});

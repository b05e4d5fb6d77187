/** The access log's copy for the log shipper: real TCP on 127.0.0.1, a shipper that comes and goes. */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpSink } from '../../src/proxy/tcp-sink.js';
import { unusedPort, waitFor } from './helpers/harness.js';

interface Shipper {
  received: () => string;
  close: () => Promise<void>;
}

async function startShipper(port: number): Promise<Shipper> {
  let data = '';
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('data', (c) => (data += c.toString()));
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    received: () => data,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const sinks: TcpSink[] = [];
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});

describe('TcpSink', () => {
  it('keeps lines written before the shipper listens, and delivers them once it does', async () => {
    const port = await unusedPort();
    const sink = new TcpSink({ host: '127.0.0.1', port });
    sinks.push(sink);
    sink.write('{"n":1}\n');
    sink.write('{"n":2}\n');
    const shipper = await startShipper(port);
    try {
      await waitFor(() => shipper.received() === '{"n":1}\n{"n":2}\n' || undefined, 8000, 'queued lines delivered');
      sink.write('{"n":3}\n');
      await waitFor(() => shipper.received().endsWith('{"n":3}\n') || undefined, 3000, 'live line delivered');
    } finally {
      await shipper.close();
    }
  });

  it('reconnects after the shipper restarts', async () => {
    const port = await unusedPort();
    let shipper = await startShipper(port);
    const sink = new TcpSink({ host: '127.0.0.1', port });
    sinks.push(sink);
    sink.write('a\n');
    await waitFor(() => shipper.received() === 'a\n' || undefined, 3000, 'first line');
    await shipper.close();
    shipper = await startShipper(port);
    try {
      // Written while the old connection is gone: queued, then sent on the new one.
      await new Promise((r) => setTimeout(r, 50));
      sink.write('b\n');
      await waitFor(() => shipper.received().includes('b\n') || undefined, 8000, 'line after restart');
    } finally {
      await shipper.close();
    }
  });

  it('bounds what it keeps while the shipper is away, and counts the rest', () => {
    const sink = new TcpSink({ host: '127.0.0.1', port: 9, maxBuffered: 100 });
    sinks.push(sink);
    const line = `${'x'.repeat(39)}\n`;
    for (let i = 0; i < 10; i++) sink.write(line);
    // Two 40-byte lines fit in 100 bytes; the other eight are dropped.
    expect(sink.droppedBytes).toBe(8 * 40);
  });
});

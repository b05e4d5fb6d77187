/**
 * The pieces reworked for speed keep their behaviour: the pool's idle timeout (one sweep per
 * pool instead of a socket timer re-armed on every read and write), batched access-log writes (no promise per batch), and cheap
 * request ids.
 */
import net from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { AccessLog, milliseconds, type AccessEntry } from '../../src/proxy/accesslog.js';
import { newRequestId } from '../../src/proxy/headers.js';
import { Pool, type CallSink, type UpstreamCall } from '../../src/proxy/pool.js';
import type { Failure } from '../../src/proxy/retry.js';

let server: net.Server | null = null;
let pool: Pool | null = null;

afterEach(async () => {
  pool?.destroy();
  pool = null;
  await new Promise((r) => (server ? server.close(r) : r(null)));
  server = null;
});

interface Upstream {
  port: number;
  /** Resolves when the n-th accepted connection (0-based) is closed by the other side. */
  closed(n: number): Promise<number>;
  accepted(): number;
}

/** A raw upstream that answers every request head after `delayMs`, and records closes. */
async function upstream(delayMs: number): Promise<Upstream> {
  const closes: { at: number | null; waiters: ((at: number) => void)[] }[] = [];
  server = net.createServer((socket) => {
    const entry = { at: null as number | null, waiters: [] as ((at: number) => void)[] };
    closes.push(entry);
    let buffered = '';
    socket.on('data', (d) => {
      buffered += d.toString('latin1');
      while (buffered.includes('\r\n\r\n')) {
        buffered = buffered.slice(buffered.indexOf('\r\n\r\n') + 4);
        setTimeout(() => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'), delayMs);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      entry.at = performance.now();
      for (const w of entry.waiters) w(entry.at);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => closes.length,
    closed: (n) => new Promise((resolve) => (closes[n]!.at !== null ? resolve(closes[n]!.at!) : closes[n]!.waiters.push(resolve))),
  };
}

/** Sends one GET through the pool; resolves with the status and body, or rejects on failure. */
function get(p: Pool): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let body = '';
    const sink: CallSink = {
      onResponse: (_c: UpstreamCall, s: number) => (status = s),
      onResponseData: (_c: UpstreamCall, chunk: Buffer) => ((body += chunk.toString()), false),
      onResponseEnd: () => resolve({ status, body }),
      onFailure: (_c: UpstreamCall, f: Failure) => reject(new Error(`failure ${f}`)),
      onResponseAborted: () => reject(new Error('aborted')),
      onRequestDrain: () => {},
    };
    p.request(sink, 'GET', '/', ['host', 'upstream'], Buffer.alloc(0), false);
  });
}

function newPool(port: number, idleMs: number): Pool {
  return new Pool({ host: '127.0.0.1', port, tls: null, maxConnections: 4, idleMs, maxHeaderBytes: 8192 });
}

describe('pool idle timeout', () => {
  it('closes a pooled connection idleMs after its last response, and reuses it before that', async () => {
    const up = await upstream(0);
    pool = newPool(up.port, 150);
    expect(await get(pool)).toEqual({ status: 200, body: 'ok' });
    await new Promise((r) => setTimeout(r, 60));
    expect(await get(pool)).toEqual({ status: 200, body: 'ok' }); // still pooled: same connection
    expect(up.accepted()).toBe(1);
    const released = performance.now();
    const closedAt = await up.closed(0);
    expect(closedAt - released).toBeGreaterThanOrEqual(100);
    for (let i = 0; i < 50 && pool.connections > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(pool.connections).toBe(0); // the pool forgot it (its own 'close' may come a tick later)
  });

  it('never cuts a connection that is waiting for a response longer than idleMs', async () => {
    const up = await upstream(300);
    pool = newPool(up.port, 100);
    expect(await get(pool)).toEqual({ status: 200, body: 'ok' });
    // The idle timer fired during the wait and was ignored; the connection went back to the
    // pool and is closed once idle.
    await up.closed(0);
    expect(up.accepted()).toBe(1);
  });
});

/** A stream that records each write call. */
function sink(): { out: Writable; writes: string[] } {
  const writes: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      writes.push(chunk.toString());
      cb();
    },
  });
  return { out, writes };
}

function entry(i: number): AccessEntry {
  return {
    listener: 'inbound', method: 'GET', path: `/p/${i}`, status: 200, bytesReceived: 0, bytesSent: 2,
    durationMs: 1.5, upstream: '127.0.0.1:1', attempts: 1, requestId: `id-${i}`, error: null,
  };
}

describe('access log batching', () => {
  it('writes lines of one burst together, soon, as valid JSON lines in order', async () => {
    const { out, writes } = sink();
    const log = new AccessLog(out);
    for (let i = 0; i < 5; i++) log.write(entry(i));
    expect(writes).toEqual([]); // batched, not written per request
    await new Promise((r) => setTimeout(r, 200));
    expect(writes).toHaveLength(1);
    const lines = writes[0]!.trimEnd().split('\n').map((l) => JSON.parse(l) as AccessEntry);
    expect(lines.map((l) => l.path)).toEqual(['/p/0', '/p/1', '/p/2', '/p/3', '/p/4']);
  });

  it('flush() writes what is pending at once, and later lines start a new batch', async () => {
    const { out, writes } = sink();
    const log = new AccessLog(out);
    log.write(entry(0));
    log.write(entry(1));
    await log.flush();
    expect(writes).toHaveLength(1);
    log.write(entry(2));
    await new Promise((r) => setTimeout(r, 50));
    expect(writes).toHaveLength(2);
    const paths = writes.join('').trimEnd().split('\n').map((l) => (JSON.parse(l) as AccessEntry).path);
    expect(paths).toEqual(['/p/0', '/p/1', '/p/2']);
  });
});

describe('generated request ids', () => {
  it('are UUID-shaped and unique across batches', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const id = newRequestId();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(10_000);
  });
});

describe('access log durations', () => {
  it('prints durationMs as String(Math.round(ms * 1000) / 1000) would', () => {
    const values = [0, 0.0004, 0.0005, 0.001, 0.01, 0.042, 0.1, 0.9995, 1, 1.5, 3.0001, 7.25, 12, 1234.5678, 99999.9999];
    for (let i = 0; i < 2000; i++) values.push(Math.random() * 10 ** (Math.random() * 7 - 2));
    for (const ms of values) expect(milliseconds(ms)).toBe(String(Math.round(ms * 1000) / 1000));
  });
});

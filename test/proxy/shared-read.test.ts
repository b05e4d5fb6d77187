/**
 * Plaintext upstream connections read into one shared buffer (pool.ts, net's `onread`). What a
 * caller is handed must stay intact after later reads overwrite that buffer: body chunks kept by
 * the sink, and response heads or chunk-size lines split across reads (kept by the parser).
 * Two connections answer at the same time, in small pieces, with different bytes, so that their
 * reads interleave in the shared buffer.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
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

const BODY_BYTES = 200_000;

/** A body whose bytes depend on `seed`, so that bytes of another response would show. */
function body(seed: number): Buffer {
  const b = Buffer.allocUnsafe(BODY_BYTES);
  for (let i = 0; i < b.length; i++) b[i] = (i * 7 + seed * 31) & 0xff;
  return b;
}

const tick = () => new Promise((r) => setTimeout(r, 2));

/** Writes `parts` one by one with a pause between them (separate reads on the other side). */
async function writeSlowly(socket: net.Socket, parts: Buffer[]): Promise<void> {
  for (const part of parts) {
    socket.write(part);
    await tick();
  }
}

/** Splits into pieces of `size` bytes. */
function pieces(b: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

/**
 * An upstream answering `GET /<seed>` with body(seed): Content-Length framing for even seeds,
 * chunked for odd ones; the head and the body arrive in small pieces.
 */
async function upstream(): Promise<number> {
  server = net.createServer((socket) => {
    socket.on('error', () => {});
    let buffered = '';
    socket.on('data', (d) => {
      buffered += d.toString('latin1');
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const seed = Number(/^GET \/(\d+) /.exec(buffered)![1]);
      buffered = buffered.slice(end + 4);
      const content = body(seed);
      const parts: Buffer[] = [];
      if (seed % 2 === 0) {
        parts.push(Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${content.length}\r\nx-seed: ${seed}\r\n\r\n`), content);
      } else {
        parts.push(Buffer.from(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-seed: ${seed}\r\n\r\n`));
        for (const c of pieces(content, 30_000)) parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
        parts.push(Buffer.from('0\r\n\r\n'));
      }
      // Every framing part (head, chunk-size line, CRLF) is split in two reads, and the body
      // goes in odd-sized pieces.
      const split = parts.flatMap((part) => (part.length > 1000 ? pieces(part, 7_001 + seed) : [part.subarray(0, 2), part.subarray(2)]));
      void writeSlowly(socket, split);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

interface Answer {
  status: number;
  headers: string[];
  /** The chunks exactly as handed over (not copied by the test). */
  chunks: Buffer[];
}

function get(p: Pool, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const answer: Answer = { status: 0, headers: [], chunks: [] };
    const sink: CallSink = {
      onResponse: (_c: UpstreamCall, status: number, headers: string[]) => {
        answer.status = status;
        answer.headers = headers;
      },
      // keeps the chunk: the pool must then read into a new buffer
      onResponseData: (_c: UpstreamCall, chunk: Buffer) => (answer.chunks.push(chunk), true),
      onResponseEnd: () => resolve(answer),
      onFailure: (_c: UpstreamCall, f: Failure) => reject(new Error(`failure ${f}`)),
      onResponseAborted: () => reject(new Error('aborted')),
      onRequestDrain: () => {},
    };
    p.request(sink, 'GET', path, ['host', 'upstream'], Buffer.alloc(0), false);
  });
}

describe('shared read buffer of plaintext upstream connections', () => {
  it('keeps body chunks and split heads intact while other reads reuse the buffer', async () => {
    const port = await upstream();
    pool = new Pool({ host: '127.0.0.1', port, tls: null, maxConnections: 4, idleMs: 10_000, maxHeaderBytes: 8192 });
    const seeds = [2, 3, 4, 5];
    const answers = await Promise.all(seeds.map((seed) => get(pool!, `/${seed}`)));
    expect(pool.connections).toBe(4); // all four were in flight at once
    answers.forEach((answer, i) => {
      const seed = seeds[i]!;
      expect(answer.status).toBe(200);
      expect(answer.headers).toContain(String(seed)); // x-seed, from a head split across reads
      expect(answer.chunks.length).toBeGreaterThan(1);
      expect(Buffer.concat(answer.chunks).equals(body(seed))).toBe(true);
    });
  });

  it('still notices an upstream that closes a pooled connection (end and close without data events)', async () => {
    server = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.on('data', () => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
        setTimeout(() => socket.end(), 30); // the app's keep-alive timeout
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    pool = new Pool({ host: '127.0.0.1', port, tls: null, maxConnections: 4, idleMs: 60_000, maxHeaderBytes: 8192 });
    const answer = await get(pool, '/');
    expect(Buffer.concat(answer.chunks).toString()).toBe('ok');
    expect(pool.connections).toBe(1);
    for (let i = 0; i < 100 && pool.connections > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(pool.connections).toBe(0);
  });
});

/**
 * A copy of the access log for a log shipper in the same pod: newline-delimited JSON over TCP
 * (Fluent Bit's `tcp` input, Fluentd's `in_tcp`).
 *
 * The shipper may start after the proxy, restart, or be slow; none of that may slow down or grow
 * the proxy. So: connect lazily and reconnect with back-off, keep at most `maxBuffered` bytes while
 * disconnected or while the socket is full, and drop (and count) the rest.
 */
import net from 'node:net';

export interface TcpSinkOptions {
  host: string;
  port: number;
  /** Bytes kept while the shipper is away; beyond that, batches are dropped. */
  maxBuffered?: number;
}

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;

export class TcpSink {
  /** Bytes of log lines dropped because the shipper was away too long or too slow. */
  droppedBytes = 0;
  private socket: net.Socket | null = null;
  private connected = false;
  private queue: string[] = [];
  private queued = 0;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly maxBuffered: number;

  constructor(private readonly options: TcpSinkOptions) {
    this.maxBuffered = options.maxBuffered ?? 1024 * 1024;
    this.connect();
  }

  /** Queue a batch of complete lines (each ending in \n). */
  write(chunk: string): void {
    if (this.closed) return;
    if (this.connected && this.queue.length === 0 && this.socket!.writableLength < this.maxBuffered) {
      this.socket!.write(chunk);
      return;
    }
    if (this.queued + chunk.length > this.maxBuffered) {
      this.droppedBytes += chunk.length;
      return;
    }
    this.queue.push(chunk);
    this.queued += chunk.length;
  }

  /** Stop: send what is queued if connected, then close. */
  close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const socket = this.socket;
    if (!socket || !this.connected) {
      socket?.destroy();
      return Promise.resolve();
    }
    this.flushQueue();
    return new Promise((resolve) => {
      const timer = setTimeout(() => socket.destroy(), 1_000);
      timer.unref();
      socket.once('close', () => resolve());
      socket.end();
    });
  }

  private connect(): void {
    if (this.closed) return;
    const socket = net.connect({ host: this.options.host, port: this.options.port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.connected = true;
      this.retryMs = RETRY_MIN_MS;
      this.flushQueue();
    });
    socket.on('drain', () => this.flushQueue());
    // The shipper never talks back; anything it sends is ignored.
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.connected = false;
      this.socket = null;
      if (!this.closed) this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
  }

  private flushQueue(): void {
    const socket = this.socket;
    while (socket && this.connected && this.queue.length > 0) {
      const chunk = this.queue.shift()!;
      this.queued -= chunk.length;
      if (!socket.write(chunk)) return;
    }
  }
}

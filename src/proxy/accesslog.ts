/**
 * One JSON line per request on stdout.
 *
 * Lines are built by string concatenation (no JSON.stringify of an object per request) and written
 * in batches: the first line of a batch schedules a write with setImmediate, so a busy proxy makes
 * one write per event-loop turn instead of one per request. (Batching for longer, e.g. 20 ms, was
 * measured and made things worse: the batch outlives several young-generation GCs and gets copied
 * and promoted, costing more GC time than the saved writes.) If stdout cannot keep up, lines are
 * buffered up to MAX_BUFFERED bytes and then dropped (and counted), so a slow log reader never
 * grows memory without bound nor blocks the proxy.
 */
export interface AccessEntry {
  listener: string;
  method: string;
  path: string;
  status: number;
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  upstream: string;
  attempts: number;
  requestId: string;
  /** Why the proxy answered itself (rate-limited, connect-failure, ...), or null. */
  error: string | null;
  /** HTTP/2 clients: "h2" (absent for HTTP/1.1, keeping those lines as they were). */
  protocol?: string;
  /** gRPC calls: the grpc-status the client got (null: none, the call was cut). */
  grpcStatus?: number | null;
}

/** One line per connection of a tcp/tls listener. */
export interface ConnectionEntry {
  listener: string;
  protocol: string;
  /** Client address:port. */
  peer: string;
  /** Bytes from the client, and to the client. */
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  upstream: string;
  /** Why the connection ended (see tcp.ts: client-closed, upstream-closed, idle-timeout, ...). */
  closeReason: string;
}

const MAX_BUFFERED = 4 * 1024 * 1024;

export class AccessLog {
  enabled = true;
  dropped = 0;
  private pending = '';
  private scheduled = false;
  private blocked = false;
  private readonly clock = new IsoClock();

  /** A copy of every batch for a log shipper (see tcp-sink.ts), when configured. */
  copy: { write(chunk: string): void } | null = null;

  constructor(private readonly out: NodeJS.WritableStream) {}

  write(e: AccessEntry): void {
    if (!this.enabled) return;
    if (this.pending.length > MAX_BUFFERED) {
      this.dropped++;
      return;
    }
    this.pending +=
      `{"time":"${this.clock.now()}","listener":${str(e.listener)},"method":${str(e.method)},` +
      `"path":${str(e.path)},"status":${e.status},"bytesReceived":${e.bytesReceived},` +
      `"bytesSent":${e.bytesSent},"durationMs":${milliseconds(e.durationMs)},` +
      `"upstream":${str(e.upstream)},"attempts":${e.attempts},"requestId":${str(e.requestId)},` +
      `"error":${e.error === null ? 'null' : str(e.error)}` +
      (e.protocol === undefined ? '' : `,"protocol":${str(e.protocol)}`) +
      (e.grpcStatus === undefined ? '' : `,"grpcStatus":${e.grpcStatus}`) +
      '}\n';
    if (!this.scheduled && !this.blocked) {
      this.scheduled = true;
      setImmediate(flushSoon, this);
    }
  }

  writeConnection(e: ConnectionEntry): void {
    if (!this.enabled) return;
    if (this.pending.length > MAX_BUFFERED) {
      this.dropped++;
      return;
    }
    this.pending +=
      `{"time":"${this.clock.now()}","listener":${str(e.listener)},"protocol":${str(e.protocol)},` +
      `"peer":${str(e.peer)},"bytesReceived":${e.bytesReceived},"bytesSent":${e.bytesSent},` +
      `"durationMs":${milliseconds(e.durationMs)},"upstream":${str(e.upstream)},"closeReason":${str(e.closeReason)}}\n`;
    if (!this.scheduled && !this.blocked) {
      this.scheduled = true;
      setImmediate(flushSoon, this);
    }
  }

  /** Writes whatever is buffered; resolves once the stream has taken it. */
  flush(): Promise<void> {
    if (this.pending === '') {
      this.scheduled = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.writeOut(() => resolve()));
  }

  /** Writes the batch (no promise per batch: this is the hot path's flush). */
  writeOut(done?: () => void): void {
    this.scheduled = false;
    if (this.pending === '' && done === undefined) return;
    const chunk = this.pending;
    this.pending = '';
    if (chunk !== '') this.copy?.write(chunk);
    const ok = this.out.write(chunk, done);
    if (!ok) this.waitForDrain();
  }

  private waitForDrain(): void {
    if (this.blocked) return;
    this.blocked = true;
    this.out.once('drain', () => {
      this.blocked = false;
      if (this.pending !== '') this.writeOut();
    });
  }
}

function flushSoon(log: AccessLog): void {
  log.writeOut();
}

/**
 * JSON string literal. Paths and request ids rarely contain characters needing escapes, so check
 * first and only fall back to JSON.stringify when needed.
 */
function str(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) return JSON.stringify(s);
  }
  return `"${s}"`;
}

/**
 * The duration rounded to the microsecond, as `String(Math.round(ms * 1000) / 1000)` would print
 * it (`12`, `1.5`, `0.042`), from integers: printing the double costs about five times as much.
 */
export function milliseconds(ms: number): string {
  const us = Math.round(ms * 1000);
  if (!(us >= 0 && us < Number.MAX_SAFE_INTEGER)) return String(us / 1000); // not a duration: as before
  const whole = Math.floor(us / 1000);
  let frac = us - whole * 1000;
  if (frac === 0) return String(whole);
  let digits = 3;
  while (frac % 10 === 0) {
    frac /= 10;
    digits--;
  }
  const fraction = String(frac);
  return `${whole}.${'00'.slice(0, digits - fraction.length)}${fraction}`;
}

/** new Date().toISOString() costs about a microsecond; reuse it within the same millisecond. */
class IsoClock {
  private lastMs = 0;
  private lastIso = '';

  now(): string {
    const ms = Date.now();
    if (ms !== this.lastMs) {
      this.lastMs = ms;
      this.lastIso = new Date(ms).toISOString();
    }
    return this.lastIso;
  }
}

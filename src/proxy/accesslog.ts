/**
 * One JSON line per request on stdout.
 *
 * Lines are built by string concatenation (no JSON.stringify of an object per request) and written
 * in batches: the first line of a batch schedules a flush with setImmediate, so a busy proxy makes
 * one write per event-loop turn instead of one per request. If stdout cannot keep up, lines are
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
}

const MAX_BUFFERED = 4 * 1024 * 1024;

export class AccessLog {
  enabled = true;
  dropped = 0;
  private pending = '';
  private scheduled = false;
  private blocked = false;
  private readonly clock = new IsoClock();

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
      `"bytesSent":${e.bytesSent},"durationMs":${Math.round(e.durationMs * 1000) / 1000},` +
      `"upstream":${str(e.upstream)},"attempts":${e.attempts},"requestId":${str(e.requestId)},` +
      `"error":${e.error === null ? 'null' : str(e.error)}}\n`;
    if (!this.scheduled && !this.blocked) {
      this.scheduled = true;
      setImmediate(flushSoon, this);
    }
  }

  /** Writes whatever is buffered; resolves once the stream has taken it. */
  flush(): Promise<void> {
    this.scheduled = false;
    if (this.pending === '') return Promise.resolve();
    const chunk = this.pending;
    this.pending = '';
    return new Promise((resolve) => {
      const ok = this.out.write(chunk, () => resolve());
      if (!ok) this.waitForDrain();
    });
  }

  private waitForDrain(): void {
    if (this.blocked) return;
    this.blocked = true;
    this.out.once('drain', () => {
      this.blocked = false;
      if (this.pending !== '') void this.flush();
    });
  }
}

function flushSoon(log: AccessLog): void {
  void log.flush();
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

/**
 * Operational events (startup, reloads, rejected configs, TLS problems) as JSON lines on stderr,
 * kept apart from the access log on stdout. These are rare, so plain JSON.stringify is fine.
 */
export type Level = 'info' | 'warn' | 'error';

export interface EventLog {
  (level: Level, msg: string, fields?: Record<string, unknown>): void;
}

export function createEventLog(out: NodeJS.WritableStream): EventLog {
  return (level, msg, fields) => {
    out.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
  };
}

/** Error message for logs, with node's error code when there is one. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

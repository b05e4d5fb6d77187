/** Protobuf JSON durations (`0.25s`, `1s`) as milliseconds. */
export function durationMs(value: unknown): number | undefined {
  if (typeof value === 'string' && /^\d+(\.\d+)?s$/.test(value)) return Number(value.slice(0, -1)) * 1000;
  if (value !== null && typeof value === 'object') {
    const { seconds, nanos } = value as { seconds?: unknown; nanos?: unknown };
    return Number(seconds ?? 0) * 1000 + Number(nanos ?? 0) / 1e6;
  }
  return undefined;
}

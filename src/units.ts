/** Parsing and formatting of the small value types users type: durations, ports, names. */

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `250ms`, `2s`, `1.5s`, `1m30s` -> milliseconds. Throws a message for anything else. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (!/^(\d+(?:\.\d+)?(ms|s|m|h))+$/.test(trimmed)) {
    throw new Error(`"${text}" is not a duration (use e.g. 250ms, 2s, 1m30s)`);
  }
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(DURATION_PART)) total += Number(amount) * UNIT_MS[unit!]!;
  const ms = Math.round(total);
  if (ms <= 0) throw new Error(`"${text}" must be longer than 0`);
  return ms;
}

/** Milliseconds as a protobuf JSON Duration, e.g. 250 -> "0.250s" (Envoy rejects "250ms"). */
export function protoDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const rest = ms % 1000;
  return rest === 0 ? `${seconds}s` : `${seconds}.${String(rest).padStart(3, '0')}s`;
}

/** Milliseconds as the shortest human form: 250ms, 2s, 90s. */
export function humanDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

export function parsePort(text: string): number {
  const n = parseInteger(text);
  if (n < 1 || n > 65535) throw new Error(`${text} is not a port (1-65535)`);
  return n;
}

export function parseInteger(text: string, min = Number.MIN_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(text.trim())) throw new Error(`"${text}" is not a whole number`);
  const n = Number(text);
  if (n < min) throw new Error(`${text} must be at least ${min}`);
  return n;
}

/** A DNS-1123 label: what Kubernetes accepts for container, port and volume names (ports: max 15). */
export function isDnsLabel(text: string, maxLength = 63): boolean {
  return text.length <= maxLength && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(text);
}

/** A DNS-1123 subdomain: names of most objects (ConfigMaps, Secrets, Issuers). */
export function isDnsSubdomain(text: string): boolean {
  return text.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(text);
}

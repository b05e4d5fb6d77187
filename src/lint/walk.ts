/** Visiting every map inside a parsed config, with its path (for checks on hand-written Envoy configs). */
import type { Path } from './locate.js';

export type Visit = (value: Record<string, unknown>, path: Path) => void;

export function eachMap(value: unknown, visit: Visit, path: Path = []): void {
  if (Array.isArray(value)) value.forEach((item, i) => eachMap(item, visit, [...path, i]));
  else if (value !== null && typeof value === 'object') {
    const map = value as Record<string, unknown>;
    visit(map, path);
    for (const [key, child] of Object.entries(map)) eachMap(child, visit, [...path, key]);
  }
}

/** A field under its proto name or its JSON (camelCase) name, as Envoy accepts both. */
export function field(map: Record<string, unknown>, snake: string): { key: string; value: unknown } | undefined {
  const camel = snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  if (snake in map) return { key: snake, value: map[snake] };
  if (camel in map) return { key: camel, value: map[camel] };
  return undefined;
}

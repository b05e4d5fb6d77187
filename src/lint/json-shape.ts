/** Reading parsed configs of unknown shape: a map or {}, a list or []. */
import { isPlainObject } from '../manifest/workloads.js';

export type Json = Record<string, unknown>;
export const obj = (v: unknown): Json => (isPlainObject(v) ? v : {});
export const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

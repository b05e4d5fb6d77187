/**
 * The scaffold's questions, as data. Each question sets one option of the option table (or, for a
 * key starting with `@`, steers which question comes next). Defaults and validation come from that
 * table: an answer is checked by applying it with the option's own `apply()`, so the rules live in one
 * place and an error reads the same here as on the command line.
 */
import { DEFAULT_SETTINGS, OPTIONS, OPTIONS_BY_KEY } from '../settings/options.js';
import { resolveSettings, type SettingsLayer } from '../settings/resolve.js';
import type { RawSetting } from '../settings/resolve.js';

/** Answers so far, as raw text keyed by option key; a list is comma-separated. */
export type Draft = Record<string, string>;

export interface Choice {
  value: string;
  name: string;
  description?: string;
}

export interface Question {
  /** An option key, or `@name` for a choice that is not itself a setting. */
  key: string;
  kind: 'select' | 'input';
  message: string;
  choices?: Choice[];
  /** May be left empty (typing `none` clears a default); the setting is then not written. */
  optional?: boolean;
  /** Comma-separated values of a repeatable option. */
  list?: boolean;
  /** Also check the answer together with every answer before it (for clashes across settings). */
  checkTogether?: boolean;
  when?: (draft: Draft) => boolean;
}

const MTLS_SOURCE = '@mtls-source';
const hasProxy = (d: Draft) => d.proxy !== 'none';
const isSet = (value: string | undefined) => value !== undefined && value !== '';

export const QUESTIONS: Question[] = [
  {
    key: 'proxy', kind: 'select', message: 'Proxy sidecar',
    choices: [
      { value: 'envoy', name: 'Envoy', description: 'retries, timeouts, rate limit, metrics, mTLS' },
      { value: 'bundled', name: "sidecarctl's bundled proxy", description: 'small Node.js proxy, no extra image to trust' },
      { value: 'none', name: 'none', description: 'no proxy (only a log shipper)' },
    ],
  },
  {
    key: 'logging', kind: 'select', message: 'Log shipper sidecar',
    choices: [
      { value: 'none', name: 'none' },
      { value: 'fluent-bit', name: 'Fluent Bit', description: 'small, C' },
      { value: 'fluentd', name: 'Fluentd', description: 'Ruby, many plugins' },
    ],
  },
  { key: 'log-path', kind: 'input', message: 'App log files the shipper tails (glob)', when: (d) => isSet(d.logging) && d.logging !== 'none' },
  { key: 'log-output', kind: 'input', message: 'Where logs go (stdout, forward://host:port, es://host:port, loki://host:port)', when: (d) => isSet(d.logging) && d.logging !== 'none' },
  {
    key: 'mtls', kind: 'select', message: 'Inbound mTLS', when: hasProxy,
    choices: [
      { value: 'off', name: 'off' },
      { value: 'permissive', name: 'permissive', description: 'accept mTLS and plaintext (for a migration)' },
      { value: 'strict', name: 'strict', description: 'reject plaintext and unknown clients' },
    ],
  },
  {
    key: MTLS_SOURCE, kind: 'select', message: 'Certificates from', when: (d) => hasProxy(d) && isSet(d.mtls) && d.mtls !== 'off',
    choices: [
      { value: 'issuer', name: 'a cert-manager issuer', description: 'a Certificate per workload' },
      { value: 'secret', name: 'an existing Secret', description: 'kubernetes.io/tls with ca.crt' },
    ],
  },
  { key: 'mtls-issuer', kind: 'input', message: 'cert-manager issuer (clusterissuer/NAME for a ClusterIssuer)', when: (d) => hasProxy(d) && isSet(d.mtls) && d.mtls !== 'off' && d[MTLS_SOURCE] === 'issuer' },
  { key: 'mtls-secret', kind: 'input', message: 'Secret name', when: (d) => hasProxy(d) && isSet(d.mtls) && d.mtls !== 'off' && d[MTLS_SOURCE] === 'secret' },
  { key: 'retries', kind: 'input', message: 'Retry attempts per request (0: no retries)', when: hasProxy },
  { key: 'per-try-timeout', kind: 'input', message: 'Timeout of each try, e.g. 250ms (empty: none)', optional: true, when: (d) => hasProxy(d) && isSet(d.retries) && d.retries !== '0' },
  { key: 'rate-limit', kind: 'input', message: 'Inbound rate limit, requests per second (empty: none)', optional: true, when: hasProxy },
  { key: 'burst', kind: 'input', message: 'Burst, requests above the rate (empty: same as the rate)', optional: true, when: (d) => hasProxy(d) && isSet(d['rate-limit']) },
  {
    key: 'upstream', kind: 'input', list: true, optional: true, checkTogether: true, when: hasProxy,
    message: 'Upstreams the app calls through the proxy, NAME=HOST:PORT[@LOCALPORT], comma-separated (empty: none)',
  },
];

/** Text typed for "no value". */
function isNone(text: string): boolean {
  return text === '' || text.toLowerCase() === 'none';
}

export function splitList(text: string): string[] {
  return text.split(',').map((v) => v.trim()).filter(Boolean);
}

/** What Enter gives: an earlier answer, the profile's or flag's value, or the table's default. */
export function defaultFor(question: Question, draft: Draft): string {
  const current = draft[question.key];
  if (current !== undefined) return current;
  if (question.key === MTLS_SOURCE) return isSet(draft['mtls-secret']) ? 'secret' : 'issuer';
  return OPTIONS_BY_KEY.get(question.key)?.defaultText ?? '';
}

/** The value to store for what was typed: trimmed; `none` or empty clears an optional setting. */
export function normalize(question: Question, text: string): string {
  const trimmed = text.trim();
  if (question.optional && isNone(trimmed)) return '';
  return question.list ? splitList(trimmed).join(', ') : trimmed;
}

/** `true`, or the message to show under the question. */
export function validateAnswer(question: Question, text: string, draft: Draft): true | string {
  const value = normalize(question, text);
  if (question.choices) return question.choices.some((c) => c.value === value) || `choose one of ${question.choices.map((c) => c.value).join(', ')}`;
  const option = OPTIONS_BY_KEY.get(question.key);
  if (!option) return true;
  if (value === '') return question.optional ? true : 'an answer is needed';
  try {
    const scratch = structuredClone(DEFAULT_SETTINGS);
    for (const item of question.list ? splitList(value) : [value]) option.apply(scratch, item);
    if (question.checkTogether) resolveSettings([layerOf({ ...draft, [question.key]: value })]);
  } catch (error) {
    return (error as Error).message;
  }
  return true;
}

/** Which questions are asked, given the answers before them. */
export function isAsked(question: Question, draft: Draft): boolean {
  return question.when ? question.when(draft) : true;
}

/**
 * Seed answers from lower layers (an existing profile, then flags): the last value of a key wins, and
 * a repeatable key takes the list of the last layer that has it (as settings layering does).
 */
export function seedDraft(layers: SettingsLayer[]): Draft {
  const draft: Draft = {};
  for (const layer of layers) {
    const lists = new Map<string, string[]>();
    for (const raw of layer) {
      if (OPTIONS_BY_KEY.get(raw.key)?.repeatable) lists.set(raw.key, [...(lists.get(raw.key) ?? []), String(raw.value)]);
      else draft[raw.key] = String(raw.value);
    }
    for (const [key, values] of lists) draft[key] = values.join(', ');
  }
  return draft;
}

/**
 * The answers that end up in the profile: a key a question covers only when that question is asked
 * (so switching mTLS off drops an old issuer), other keys (ports, templates, ...) carried as given.
 */
export function finalDraft(draft: Draft): Draft {
  const out: Draft = {};
  for (const option of OPTIONS) {
    const value = draft[option.key];
    if (value === undefined || value === '') continue;
    const question = QUESTIONS.find((q) => q.key === option.key);
    if (question && !isAsked(question, draft)) continue;
    out[option.key] = value;
  }
  return out;
}

/** The draft as a settings layer (only option keys; lists split), for checks and injection. */
export function layerOf(draft: Draft): SettingsLayer {
  const layer: RawSetting[] = [];
  for (const option of OPTIONS) {
    const value = draft[option.key];
    if (value === undefined || value === '') continue;
    for (const item of option.repeatable ? splitList(value) : [value]) layer.push({ key: option.key, value: item });
  }
  return layer;
}

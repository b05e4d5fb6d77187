/**
 * Differential request-smuggling suite: every case of the corpus (helpers/smuggling-corpus.ts) goes
 * to a fresh proxy, in front of a raw TCP backend that records the exact bytes it receives and reads
 * them with a strict HTTP/1.1 framing reader. Whatever the proxy decides (forward or refuse), the
 * backend must have received exactly the requests the proxy answered 2xx for, each strictly framed,
 * with nothing unreadable or dangling on its connections.
 *
 * Cases run in parallel (each with its own proxy and backend) in beforeAll; the its only judge.
 * The same corpus runs against nginx and HAProxy in bench/proxy/differential.js.
 */
import { Buffer } from 'node:buffer';
import { beforeAll, describe, expect, it } from 'vitest';
import { baseConfig, sleep, startProxy, type AccessLine } from './helpers/harness.js';
import {
  backendView,
  capturedRequest,
  corpus,
  header,
  HEADER_NAMES,
  judge,
  parseRequestStream,
  sendRaw,
  startRecordingBackend,
  VICTIM_SECRET,
  type BackendView,
  type Exchange,
  type SendOptions,
  type SmugglingCase,
} from './helpers/smuggling-corpus.js';

interface Run {
  exchanges: Exchange[];
  view: BackendView;
  access: AccessLine[];
  /** What the backend received, per connection (latin1), for failure messages. */
  raw: string[];
}

const CONCURRENCY = 16;

/** One case against a fresh backend and a fresh proxy. */
async function run(bytes: Buffer | string, followUp: Buffer | string | undefined, opts: SendOptions = {}): Promise<Run> {
  const backend = await startRecordingBackend();
  const proxy = await startProxy({ ...baseConfig(backend.port), accessLog: { enabled: true }, drainTimeoutMs: 200 }, { watch: false });
  try {
    const port = proxy.port('inbound');
    const exchanges = [await sendRaw(port, bytes, opts)];
    if (followUp !== undefined) {
      await sleep(50); // the first exchange's upstream connection is back in the pool
      exchanges.push(await sendRaw(port, followUp, opts));
    }
    await sleep(40); // last bytes to the backend, access log flushed
    return { exchanges, view: backendView(backend), access: proxy.access(), raw: backend.connections.map((c) => c.bytes().toString('latin1')) };
  } finally {
    await proxy.close();
    await backend.close();
  }
}

async function inParallel<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
    }),
  );
}

const describeRun = (r: Run) =>
  JSON.stringify({ answers: r.exchanges.map((e) => e.raw.toString('latin1').slice(0, 300)), backendReceived: r.raw.map((s) => s.slice(0, 600)) }, null, 2);

const key = (m: string, p: string) => `${m} ${p}`;
const bytesOf = (b: Buffer | string) => (typeof b === 'string' ? Buffer.from(b, 'latin1') : b);

// ---------------------------------------------------------------------------------------------

const results = new Map<string, Run>();
const LOOP_BODY = (name: string) => `name=${encodeURIComponent(name)}&pad=${'x'.repeat(17)}`;
type Framing = 'content-length' | 'chunked';
const loopCases = HEADER_NAMES.flatMap((name) => (['content-length', 'chunked'] as Framing[]).map((framing) => ({ name, framing })));
const loopResults = new Map<string, Run>();
const loopKey = (name: string, framing: Framing) => `${framing}:${name}`;

function loopRequest(name: string, framing: Framing): string {
  const body = LOOP_BODY(name);
  const framingHeader = framing === 'content-length' ? `Content-Length: ${body.length}` : 'Transfer-Encoding: chunked';
  const encoded = framing === 'content-length' ? body : `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  return `POST /echo HTTP/1.1\r\nHost: h.example\r\n${framingHeader}\r\nConnection: ${name}\r\n\r\n${encoded}`;
}

beforeAll(async () => {
  await inParallel(corpus, async (c) => {
    results.set(c.name, await run(c.bytes, c.followUp));
  });
  await inParallel(loopCases, async ({ name, framing }) => {
    loopResults.set(loopKey(name, framing), await run(loopRequest(name, framing), undefined, { responses: 1, idleMs: 400 }));
  });
}, 60_000);

describe('differential: the backend sees exactly what the proxy parsed', () => {
  it('the corpus is the size the suite was written for', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(60);
    expect(new Set(corpus.map((c) => c.name)).size).toBe(corpus.length);
    expect(HEADER_NAMES.length).toBeGreaterThanOrEqual(80);
  });

  it.each(corpus.map((c) => [c.name, c] as [string, SmugglingCase]))('%s', (_name, c) => {
    const r = results.get(c.name)!;
    const verdict = judge(c, r.exchanges, r.view);
    expect(verdict.reasons, describeRun(r)).toEqual([]);

    // The requests the backend completed are the ones the proxy logged as answered 2xx.
    const seen = r.view.requests.map((q) => key(q.method, q.target)).sort();
    const logged = r.access.filter((a) => a.status >= 200 && a.status < 300).map((a) => key(a.method, a.path)).sort();
    expect(seen, describeRun(r)).toEqual(logged);

    // Every forwarded request carrying a body declares it (Content-Length or chunked).
    for (const q of r.view.requests) if (q.body.length > 0) expect(q.framing, `${q.method} ${q.target}`).not.toBe('none');

    // Where the client's bytes are unambiguous (a strict reader frames them), the proxy must not
    // change a forwarded request: same method, target and body bytes, in order.
    const declared = [c.bytes, ...(c.followUp === undefined ? [] : [c.followUp])].flatMap((b) => parseRequestStream(bytesOf(b)).requests);
    const n = Math.min(declared.length, r.view.requests.length);
    const sent = r.view.requests.slice(0, n).map((q) => [q.method, q.target, q.body.toString('latin1')]);
    expect(sent, describeRun(r)).toEqual(declared.slice(0, n).map((q) => [q.method, q.target, q.body.toString('latin1')]));
  });
});

describe('differential: captured request (Connection: content-length, then a victim on another connection)', () => {
  const name = corpus.find((c) => c.followUp === capturedRequest.victim)!.name;

  it("the victim's credentials never end up in another request's body", () => {
    const r = results.get(name)!;
    for (const q of [...r.view.requests, ...r.view.partials]) {
      expect(q.body.toString('latin1'), `${q.method} ${q.target}`).not.toContain(VICTIM_SECRET);
    }
    // The secret appears upstream only as the Authorization header of GET /private.
    const all = r.raw.join('');
    const occurrences = all.split(VICTIM_SECRET).length - 1;
    const asHeader = r.view.requests.filter((q) => q.target === '/private' && header(q, 'authorization') === VICTIM_SECRET).length;
    expect(occurrences, describeRun(r)).toBe(asHeader);
  });

  it('neither /capture nor /smuggled reaches the backend as a request', () => {
    const r = results.get(name)!;
    const targets = [...r.view.requests, ...r.view.partials].map((q) => q.target);
    expect(targets, describeRun(r)).not.toContain('/capture');
    expect(targets).not.toContain('/smuggled');
    expect(r.view.errors).toEqual([]);
  });

  it('the victim gets its own answer and the backend its own GET /private', () => {
    const r = results.get(name)!;
    expect(r.exchanges[1]!.statuses, describeRun(r)).toEqual([200]);
    const priv = r.view.requests.filter((q) => q.target === '/private');
    expect(priv.map((q) => [q.method, header(q, 'authorization')])).toEqual([['GET', VICTIM_SECRET]]);
    const submit = r.view.requests.find((q) => q.target === '/submit');
    expect(submit?.body.toString('latin1')).toContain('POST /capture HTTP/1.1');
  });
});

describe('differential: Connection: <name> never unframes the body or drops Host', () => {
  it.each(loopCases.map(({ name, framing }) => [`${framing} body, Connection: ${name}`, name, framing] as [string, string, Framing]))(
    '%s',
    (_title, name, framing) => {
      const r = loopResults.get(loopKey(name, framing))!;
      const detail = describeRun(r);
      expect(r.exchanges[0]!.statuses.filter((s) => s >= 200), detail).toEqual([200]);
      expect(r.view.errors, detail).toEqual([]);
      expect(r.view.partials.length + r.view.partialHeads, detail).toBe(0);
      expect(r.view.requests.length, detail).toBe(1);
      const q = r.view.requests[0]!;
      expect([q.method, q.target]).toEqual(['POST', '/echo']);
      expect(header(q, 'host'), detail).toBe('h.example');
      expect(q.framing, detail).not.toBe('none');
      expect(q.body.toString('latin1'), detail).toBe(LOOP_BODY(name));
    },
  );
});

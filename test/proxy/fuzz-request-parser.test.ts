/**
 * Differential fuzzing of the listener's request parsing (h1request.ts heads, h1server.ts body
 * framing with the strict ChunkedDecoder) against llhttp, node's parser, in strict mode.
 *
 * Ours runs for real: the H1Server on a 127.0.0.1 socket, each stream written in 1-4 pieces
 * (each a separate read on the server) and the client side half-closed; the handlers record every head and complete body and answer 200, so
 * pipelined requests go on. llhttp parses the same bytes through node's HTTPParser binding.
 *
 * Ours is stricter on purpose (known methods only, Host required, no obs-fold, one
 * Content-Length, Transfer-Encoding exactly chunked...), so llhttp accepting more is fine. What
 * must never happen: ours hands a request head or a complete body to the handler that llhttp
 * would not have produced identically (method, url, upgrade, body bytes), or ours waits for
 * bytes of a request that llhttp saw complete (framing). Requests are compared up to where ours
 * stopped reading: a refusal, a response that closed the connection, or an upgrade/CONNECT.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsLiteral, llhttp, llStatus, requestDisagreement, requestStreamArb, show, startOurServer, type OurServer } from './helpers/h1-differential.js';

const NUM_RUNS = Number(process.env.FUZZ_RUNS ?? 1000);

let server: OurServer;
beforeAll(async () => {
  server = await startOurServer();
});
afterAll(async () => {
  await server?.close();
});

describe('request parsing: ours against llhttp', () => {
  it('never accepts a request (head, body, framing) that llhttp would parse differently or refuse', async () => {
    const stats = { runs: 0, bothAcceptAll: 0, oursRefused: 0, requests: 0 };
    await fc.assert(
      fc.asyncProperty(requestStreamArb, fc.array(fc.nat(), { maxLength: 3 }), async (text, cuts) => {
        const bytes = Buffer.from(text, 'latin1');
        const ours = await server.send(bytes, cuts);
        const ll = llhttp('request', bytes);
        const problem = requestDisagreement(ours, ll);
        stats.runs++;
        stats.requests += ours.bodies.length;
        if (ours.refused.length > 0) stats.oursRefused++;
        else if (llStatus(ll) === 'ok' && !ours.closedAfterResponse) stats.bothAcceptAll++;
        expect(
          problem,
          `${problem}\nbytes: ${jsLiteral(text)}\nours: ${JSON.stringify({ ...ours, bodies: ours.bodies.map(show) })}\nllhttp: ${llStatus(ll)}, ${ll.messages.length} message(s)`,
        ).toBeNull();
      }),
      // ~0.5 ms a run (one connection each); the limit only bounds a long shrink.
      { numRuns: NUM_RUNS, interruptAfterTimeLimit: 12_000 },
    );
    if (process.env.FUZZ_STATS) console.log(stats);
    // The grammar must mostly produce requests both parsers read, or the comparison says little.
    expect(stats.requests).toBeGreaterThan(stats.runs / 3);
  });
});

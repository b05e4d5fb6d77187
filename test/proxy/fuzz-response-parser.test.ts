/**
 * Differential fuzzing of the upstream-side response parser (h1parser.ts ResponseParser, with the
 * strict ChunkedDecoder) against llhttp, node's parser, in strict mode and in RESPONSE mode.
 *
 * Each stream is one response to a GET, HEAD or POST, after 0-2 interim 1xx responses: status
 * lines, Content-Length, chunked, Transfer-Encoding without chunked (read until close), 204/304,
 * stray bytes after it, edits and truncation. Ours gets it cut in random pieces and then
 * finish() (the connection closed); llhttp gets it whole and then finish(), skipping the body
 * where node's http client does (HEAD, 304, 1xx).
 *
 * Ours may refuse more (it is stricter in places: one response per start(), no 101, no data
 * after the response...). What must never happen: ours reports a head or completes a response
 * that llhttp would have refused or read differently (status, body bytes, completeness), or
 * offers the connection for reuse where llhttp would not.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsLiteral, llhttp, llStatus, ourResponse, responseDisagreement, responseStreamArb, show } from './helpers/h1-differential.js';

const NUM_RUNS = Number(process.env.FUZZ_RUNS ?? 1000);

describe('response parsing: ours against llhttp', () => {
  it('never accepts a response (status, body, completeness) that llhttp would read differently or refuse', () => {
    const stats = { runs: 0, oursComplete: 0 };
    fc.assert(
      fc.property(responseStreamArb, ({ method, text, cuts }) => {
        const bytes = Buffer.from(text, 'latin1');
        const ours = ourResponse(bytes, method, cuts);
        const ll = llhttp('response', bytes, method);
        const problem = responseDisagreement(ours, ll, method);
        stats.runs++;
        if (ours.complete) stats.oursComplete++;
        expect(
          problem,
          `${problem}\nbytes (response to ${method}): ${jsLiteral(text)}\nours: ${JSON.stringify({ ...ours, body: show(ours.body) })}\nllhttp: ${llStatus(ll)}, ${JSON.stringify(ll.messages.map((m) => ({ status: m.status, complete: m.complete, keepAlive: m.keepAlive, body: show(m.body) })))}`,
        ).toBeNull();
      }),
      { numRuns: NUM_RUNS, interruptAfterTimeLimit: 12_000 },
    );
    if (process.env.FUZZ_STATS) console.log(stats);
    // The grammar must mostly produce responses ours reads, or the comparison says little.
    // The grammar must keep producing responses ours completes (about 35%; the rest are refused,
    // or have bytes after the response, which ours refuses on purpose), or it has drifted to noise.
    expect(stats.oursComplete).toBeGreaterThan(stats.runs / 4);
  });
});

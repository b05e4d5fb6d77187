/**
 * fast-check's seed: fixed in CI, so a red build can be replayed and never depends on luck; random
 * on a developer's machine, so every local run explores new inputs (a failure prints its seed).
 * FUZZ_SEED=N replays a run anywhere.
 */
import fc from 'fast-check';

const fixed = process.env.FUZZ_SEED ?? (process.env.CI ? '20261122' : undefined);
if (fixed !== undefined) fc.configureGlobal({ seed: Number(fixed) });

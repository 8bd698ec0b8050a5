import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { sleep } from "../common/backoff.ts";
import { sleeper } from "./sleeper.ts";

afterEach(() => {
  vi.useRealTimers();
});

/** When each sleep resolved (fake ms), for `sleep` (plain) or `sleeper` (shared listener). */
async function run(
  make: (signal: AbortSignal) => (ms: number) => Promise<void>,
  plan: { sleeps: Array<{ at: number; ms: number }>; abortAt: number | null; preAborted: boolean },
) {
  vi.useFakeTimers();
  const ac = new AbortController();
  if (plan.preAborted) ac.abort();
  const nap = make(ac.signal);
  const done: Array<number | null> = plan.sleeps.map(() => null);
  const start = Date.now();
  const events = [
    ...plan.sleeps.map((s, i) => ({
      at: s.at,
      go: () => void nap(s.ms).then(() => (done[i] = Date.now() - start)),
    })),
    ...(plan.abortAt === null ? [] : [{ at: plan.abortAt, go: () => ac.abort() }]),
  ].sort((a, b) => a.at - b.at);
  for (const e of events) {
    await vi.advanceTimersByTimeAsync(e.at - (Date.now() - start));
    e.go();
    await vi.advanceTimersByTimeAsync(0);
  }
  await vi.advanceTimersByTimeAsync(10_000);
  vi.useRealTimers();
  return { done };
}

describe("sleeper", () => {
  it("resolves each sleep exactly when drivers/common's sleep does: after ms, or at the abort", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          sleeps: fc.array(
            fc.record({ at: fc.integer({ min: 0, max: 500 }), ms: fc.integer({ min: 0, max: 500 }) }),
            {
              maxLength: 8,
            },
          ),
          abortAt: fc.option(fc.integer({ min: 0, max: 600 })),
          preAborted: fc.boolean(),
        }),
        async (plan) => {
          const plain = await run((signal) => (ms) => sleep(ms, signal), plan);
          const shared = await run(sleeper, plan);
          expect(shared.done).toEqual(plain.done);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("adds one abort listener for all its sleeps and leaves no timer behind after an abort", async () => {
    vi.useFakeTimers();
    const ac = new AbortController();
    const add = vi.spyOn(ac.signal, "addEventListener");
    const nap = sleeper(ac.signal);
    const all = Promise.all([nap(1000), nap(5000), nap(60_000)]);
    ac.abort();
    await all;
    expect(add).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
    await nap(1_000_000); // already aborted: at once
  });
});

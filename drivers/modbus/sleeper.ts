/**
 * Sleeps that end early when one signal aborts, with one abort listener for all of them: the
 * per-call `addEventListener`/`removeEventListener` of drivers/common/backoff.ts's `sleep` on an
 * AbortSignal was ~3 % of the peer job's busy main-thread time (issue #15: two sleeps per poll, the
 * inter-frame gap and the poll interval). Same contract as that `sleep`: resolves after `ms`, or at
 * once (without throwing) when the signal is or becomes aborted. sleeper.test.ts checks both.
 */
export function sleeper(signal: AbortSignal): (ms: number) => Promise<void> {
  const pending = new Set<() => void>();
  const wakeAll = () => {
    for (const wake of [...pending]) wake();
  };
  if (!signal.aborted) signal.addEventListener("abort", wakeAll, { once: true });
  return (ms) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const wake = () => {
        clearTimeout(t);
        pending.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      pending.add(wake);
    });
}

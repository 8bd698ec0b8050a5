/**
 * `BARNLINK_MEMTRACE=1`: one JSON line on stderr per start-up phase of `barnlink agent` (after the
 * command's imports, after the config, after each of the agent's start steps, the page, then every
 * 5 s), with process.memoryUsage() and V8's heap statistics in MB: where a gateway's RSS goes
 * (issue #15; docs/performance.md). Off (the default): nothing is measured or written.
 */
export const memTraceOn = () => Boolean(process.env.BARNLINK_MEMTRACE);

const mb = (n: number) => Math.round((n / 1048576) * 10) / 10;

export function memTrace(phase: string): void {
  if (!memTraceOn()) return;
  const m = process.memoryUsage();
  // node:v8 loads only when tracing is on (process.getBuiltinModule: Node ≥ 20.16).
  const h = process.getBuiltinModule("node:v8").getHeapStatistics();
  process.stderr.write(
    `${JSON.stringify({
      memtrace: phase,
      t: Math.round(process.uptime() * 1000),
      rss: mb(m.rss),
      heapTotal: mb(m.heapTotal),
      heapUsed: mb(m.heapUsed),
      external: mb(m.external),
      arrayBuffers: mb(m.arrayBuffers),
      malloced: mb(h.malloced_memory),
      code: mb((h as { total_heap_size_executable: number }).total_heap_size_executable),
    })}\n`,
  );
}

/** Every `ms` while the agent runs (unref'd); undefined when tracing is off. */
export function memTraceEvery(ms: number): NodeJS.Timeout | undefined {
  if (!memTraceOn()) return undefined;
  const t = setInterval(() => memTrace("running"), ms);
  t.unref();
  return t;
}

// The agent half of the drain benchmark, as its own process so its RSS is its own: opens an outbox
// holding a backlog (weeks offline), waits for "go", drains it through the Link, reports over IPC.

import { join } from "node:path";
import v8 from "node:v8";
import { systemClock } from "../core/clock.ts";
import { loadOrCreateKey, publicKeyFromB64 } from "../core/keys.ts";
import { Link } from "../sync/link.ts";
import { SqliteOutbox } from "../sync/outbox/sqlite-outbox.ts";

const [dir, url, cloudKey, device] = process.argv.slice(2) as [string, string, string, string];
const key = loadOrCreateKey(join(dir, "device.key"));
const outbox = new SqliteOutbox(join(dir, "outbox.db"), device, { validate: false, check: false });
// RSS at rest: Node, tsx's loader, better-sqlite3, MQTT.js and the opened outbox, before any batch.
const rest = process.memoryUsage();
const restRss = rest.rss;
process.send!({ type: "ready", publicKey: key.publicKeyB64 });
process.once("message", () => {
  const clock = systemClock("always");
  const link = new Link({
    url,
    device,
    outbox,
    deviceKey: key,
    cloudKey: publicKeyFromB64(cloudKey),
    clock,
    // The agent's defaults (2000 records or 256 KiB per batch, 8 in flight): what a gateway runs.
    batch: { maxRecords: 2000, maxBytes: 256 * 1024, lingerMs: 0 },
    window: 8,
    ackTimeoutMs: 60_000,
  });
  let peak = process.memoryUsage().rss;
  let peakHeap = 0;
  // process.memoryUsage() at the sampled RSS peak: how much of it is V8's heap, how much native
  // memory V8 knows of (external: Buffers, zlib/brotli state), the rest is Node, SQLite, malloc.
  let atPeak = process.memoryUsage();
  const trace = process.env.BENCH_AGENT_MEM_TRACE;
  const sample = setInterval(() => {
    const m = process.memoryUsage();
    if (trace)
      console.error(
        `mem ${Date.now()} ${link.stats.recordsAcked} ${link.stats.batchesResent} ${m.rss} ${m.heapTotal} ${m.heapUsed} ${m.external} ${m.arrayBuffers}`,
      );
    if (m.rss > peak) {
      atPeak = m;
      if (process.env.BENCH_AGENT_SPACES)
        console.error(
          "spaces",
          m.rss >> 20,
          v8
            .getHeapSpaceStatistics()
            .map((x) => `${x.space_name}=${x.space_size >> 20}/${x.space_used_size >> 20}`)
            .join(" "),
        );
    }
    peak = Math.max(peak, m.rss);
    peakHeap = Math.max(peakHeap, m.heapTotal);
  }, 50);
  const start = Date.now();
  link.start();
  link.drained(30 * 60_000).then(async (ok) => {
    const ms = Date.now() - start;
    clearInterval(sample);
    peak = Math.max(peak, process.memoryUsage().rss);
    process.send!(
      {
        type: "done",
        ok,
        ms,
        peakRss: peak,
        restRss,
        rest,
        peakHeap,
        atPeak,
        // The kernel's high-water mark (ru_maxrss, KiB): the true peak, between samples too.
        maxRss: process.resourceUsage().maxRSS * 1024,
        bytesSent: link.stats.bytesSent,
        resent: link.stats.batchesResent,
      },
      () => {
        link.stop().finally(() => {
          outbox.close();
          process.exit(0);
        });
      },
    );
  });
});

// The agent half of the drain benchmark, as its own process so its RSS is its own: fills an outbox
// with a backlog, waits for "go", drains it through the Link, reports time and peak RSS over IPC.
import { join } from "node:path";
import { systemClock } from "../core/clock.ts";
import { loadOrCreateKey, publicKeyFromB64 } from "../core/keys.ts";
import { Link } from "../sync/link.ts";
import { SqliteOutbox } from "../sync/outbox/sqlite-outbox.ts";

const [dir, url, cloudKey, device, n] = process.argv.slice(2) as [string, string, string, string, string];
const total = Number(n);
const key = loadOrCreateKey(join(dir, "device.key"));
const outbox = new SqliteOutbox(join(dir, "outbox.db"), device, { validate: false, check: false });
const t0 = Date.now();
for (let i = 0; i < total; i += 5000) {
  outbox.append(
    Array.from({ length: Math.min(5000, total - i) }, (_, k) => {
      const j = i + k;
      return {
        stream: `env.s${j % 4}`,
        kind: "reading",
        body: {
          value: Math.round((21 + Math.sin(j / 500) * 3 + ((j * 7919) % 11) / 10) * 10) / 10,
          unit: "degC",
        },
        t: {
          wall: 1_760_000_000_000 + j * 250 + ((j * 104_729) % 37),
          boot: "bench-boot",
          mono: 10_000 + j * 250 + ((j * 104_729) % 37),
          synced: true,
        },
      };
    }),
  );
}
process.send!({ type: "ready", publicKey: key.publicKeyB64, fillMs: Date.now() - t0 });
process.once("message", () => {
  const clock = systemClock("always");
  const link = new Link({
    url,
    device,
    outbox,
    deviceKey: key,
    cloudKey: publicKeyFromB64(cloudKey),
    clock,
    batch: { maxRecords: 5000, maxBytes: 1024 * 1024, lingerMs: 0 },
    window: 16,
    ackTimeoutMs: 60_000,
  });
  let peak = process.memoryUsage().rss;
  const sample = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
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

import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { join } from "node:path";
import { openDb } from "../cloud/db/connect.ts";
import { migrateToLatest } from "../cloud/db/migrate.ts";
import { registerDevice } from "../cloud/devices.ts";
import { Ingest } from "../cloud/ingest/ingest.ts";
import { generateKeyPair } from "../core/keys.ts";
import { encodeBatch } from "../sync/codec.ts";
import { batchOf, StreamWriter } from "../sync/stream-writer.ts";
import { upTopic } from "../sync/topics.ts";
import { tmpDir } from "../test/helpers/services.ts";
import { benchBrokerFlood } from "./broker-flood.ts";

interface BenchLine {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
}

/**
 * The cost of junk at the cloud's ingest (#13), on SQLite: the subscriber handles messages one at
 * a time, so a genuine batch queued behind N junk messages waits N × (cost of one reject). Baseline:
 * committing a genuine one-record batch, in the same run. Junk: 64 KiB of garbage, and well-formed
 * batches signed with the wrong key (an Ed25519 verify each), 10,000 of each, through Ingest.handle.
 */
export async function benchFlood(): Promise<BenchLine[]> {
  const dir = tmpDir("barnlink-flood-");
  const file = join(dir, "cloud.db");
  const db = openDb(file);
  await migrateToLatest(db);
  const cloudKey = generateKeyPair();
  const ingest = new Ingest(db, cloudKey);
  const dev = generateKeyPair();
  await registerDevice(db, "barn-1", dev.publicKeyB64, null, Date.now());
  const w = new StreamWriter("barn-1", "env.temperature", dev);
  const genuine = (i: number) =>
    encodeBatch(
      batchOf("barn-1", [
        w.next([
          {
            t: { wall: 1_760_000_000_000 + i, boot: "b", mono: i, synced: true },
            kind: "reading",
            body: { value: i, unit: "degC" },
          },
        ]),
      ]) as never,
    );
  const time = async (n: number, payload: (i: number) => Buffer, device: string) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await ingest.handle(upTopic(device), payload(i));
    return Number(process.hrtime.bigint() - t0) / 1e6 / n;
  };
  await time(200, genuine, "barn-1"); // warm-up
  const commitMs = await time(1000, genuine, "barn-1");
  const sizeBefore = statSync(file).size;
  const garbage = randomBytes(64 * 1024);
  const garbageMs = await time(10_000, () => garbage, "barn-1");
  const thief = generateKeyPair();
  const tw = new StreamWriter("barn-1", "env.temperature", thief);
  const forged = encodeBatch(
    batchOf("barn-1", [
      tw.next([
        {
          t: { wall: 1_760_000_000_000, boot: "b", mono: 1, synced: true },
          kind: "reading",
          body: { value: 1, unit: "degC" },
        },
      ]),
    ]) as never,
  );
  const forgedMs = await time(10_000, () => forged, "barn-1");
  const growth = statSync(file).size - sizeBefore;
  const after = await time(200, genuine, "barn-1");
  const rows = await db.kysely
    .selectFrom("rejects")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirst();
  await db.close();
  const b = "flood";
  // Then the transport: unauthenticated clients flooding the embedded broker (bench/broker-flood.ts).
  const broker = await benchBrokerFlood();
  return [
    ...broker,
    { bench: b, metric: "commit one genuine batch", value: commitMs, unit: "ms" },
    {
      bench: b,
      metric: "reject 64 KiB garbage",
      value: garbageMs,
      unit: "ms",
      baseline: commitMs,
      ratio: garbageMs / commitMs,
    },
    {
      bench: b,
      metric: "reject forged-signature batch",
      value: forgedMs,
      unit: "ms",
      baseline: commitMs,
      ratio: forgedMs / commitMs,
    },
    {
      bench: b,
      metric: "delay behind 10,000 junk (worst kind)",
      value: 10_000 * Math.max(garbageMs, forgedMs),
      unit: "ms",
    },
    { bench: b, metric: "db growth for 20,000 junk", value: growth / 1024, unit: "KiB" },
    { bench: b, metric: "reject samples stored", value: Number(rows?.n ?? 0), unit: "rows" },
    {
      bench: b,
      metric: "commit after the flood",
      value: after,
      unit: "ms",
      baseline: commitMs,
      ratio: after / commitMs,
    },
  ];
}

import fc from "fast-check";
import { type Kysely, sql } from "kysely";
import { describe, expect, it } from "vitest";
import type { Db } from "../../db/connect.ts";
import type { DB } from "../../db/schema.ts";
import { blockLike, expandBlock } from "../../quality/block-values.ts";
import { loadQualityInput } from "../../quality/load.ts";
import { assess, gateContext } from "../evaluate.ts";
import { type EvidenceQuery, loadEvidenceSet, type StoredRow, selectEvidence } from "../evidence-set.ts";
import { gateContexts } from "../gate-inputs.ts";
import { qualityInputOf } from "../quality-window.ts";
import { createBatch, createFacility } from "../setup.ts";
import { freshDb } from "./fresh-db.ts";
import { DAY, DIALECTS, dialectsHere, seedBatch, T0, testCtx } from "./helpers.ts";

/**
 * The engine decides due tranches as a set (gate-inputs.ts: one evidence set for many windows, the
 * gates selecting from it in memory). These check, over random evidence, that the set decides
 * exactly what each tranche alone decides, and that the in-memory selections return what the
 * per-window SQL reads did (the gates' former readEvidence; cloud/quality's loadQualityInput).
 */

const H = 3_600_000;
const DEVICES = ["gw1", "gw2", "gw3"];
const STREAMS = ["env.temperature", "env.humidity", "env.ammonia", "silo.weight"];

interface Rec {
  device: number;
  kind: "reading" | "block" | "census" | "event" | "delivery" | "sighting";
  stream: number;
  hour: number;
  value: number;
  delayH: number;
  clock: "ok" | "corrected" | "unsynced";
}

const recArb: fc.Arbitrary<Rec> = fc.record({
  device: fc.nat(2),
  kind: fc.constantFrom("reading", "reading", "reading", "block", "census", "event", "delivery", "sighting"),
  stream: fc.nat(3),
  hour: fc.integer({ min: -30, max: 20 * 24 }),
  value: fc.integer({ min: 0, max: 40 }),
  delayH: fc.constantFrom(0, 0, 0, 1, 30, 200),
  clock: fc.constantFrom("ok", "ok", "ok", "ok", "corrected", "unsynced"),
});

/** Stores the records (each with a unique capture time), a stream row per device and stream, and a gap. */
async function store(db: Db, recs: Rec[]) {
  const seq = new Map<string, number>();
  for (const [i, r] of recs.entries()) {
    const device = DEVICES[r.device]!;
    const name = STREAMS[r.stream]!;
    const stream = r.kind === "reading" ? name : r.kind === "block" ? "modbus.plc1" : r.kind;
    const n = (seq.get(`${device}/${stream}`) ?? 0) + 1;
    seq.set(`${device}/${stream}`, n);
    const t = T0 + r.hour * H + i * 1_000;
    const body =
      r.kind === "reading"
        ? { value: name === "silo.weight" ? 8_000 - r.hour * 5 + r.value : r.value, unit: "x" }
        : r.kind === "block"
          ? { values: { [name]: r.value, "env.humidity": 60 }, units: { [name]: "x" } }
          : r.kind === "census"
            ? { count: 19_000 + r.value * 30, ...(r.value % 3 ? { barn: "barn1" } : {}), method: "camera" }
            : r.kind === "event"
              ? { input: r.value % 2 ? "sale" : "death", count: r.value }
              : r.kind === "delivery"
                ? { kg: 1_000 + r.value, ref: r.value % 3 ? null : "REF" }
                : { hash: `h${r.value % 5}` };
    await db.kysely
      .insertInto("records")
      .values({
        device,
        stream,
        seq: n,
        kind: r.kind,
        t_wall: r.clock === "unsynced" ? 1_000 + i : t,
        t_boot: "b",
        t_mono: i,
        t_synced: r.clock === "ok" ? 1 : 0,
        t_corrected: r.clock === "corrected" ? t : null,
        body: JSON.stringify(body),
        prev: "00",
        hash: "00",
        received_at: t + r.delayH * H,
      })
      .execute();
  }
  for (const [k, n] of seq) {
    const [device, stream] = k.split("/") as [string, string];
    await db.kysely
      .insertInto("streams")
      .values({
        device,
        stream,
        committed_seq: n,
        max_seq: n,
        count: n,
        chain_ok: n % 4 === 0 ? 0 : 1,
        chain_error: null,
        last_seen: T0 + n * H,
        head_seq: n,
        head_hash: null,
        head_sig: null,
      })
      .execute();
  }
  await db.kysely
    .insertInto("gaps")
    .values({
      device: "gw2",
      stream: "env.temperature",
      from_seq: 3,
      to_seq: 5,
      count: 3,
      reason: "evicted",
      prev: "00",
      hash: "00",
      received_at: T0 + 9 * DAY,
    })
    .execute();
}

/** The gates' per-window read as it was before the evidence set (one SQL query, or two with blocks). */
async function readEvidenceSql(db: Kysely<DB>, q: EvidenceQuery) {
  if (q.devices.length === 0) return [];
  const tExpr = sql<number>`coalesce(t_corrected, t_wall)`;
  const base = () =>
    db
      .selectFrom("records")
      .select(["device", "stream", "seq", "kind", "body", tExpr.as("t")])
      .where("device", "in", q.devices)
      .where(tExpr, ">=", q.from)
      .where(tExpr, "<=", q.to)
      .where("received_at", "<=", q.asOf);
  const row = (r: {
    device: string;
    stream: string;
    seq: unknown;
    kind: string;
    body: string;
    t: unknown;
  }) => ({
    device: r.device,
    stream: r.stream,
    seq: Number(r.seq),
    kind: r.kind,
    t: Number(r.t),
    body: JSON.parse(r.body) as Record<string, unknown>,
  });
  let sel = base();
  if (q.stream) sel = sel.where("stream", "=", q.stream);
  if (q.kind) sel = sel.where("kind", "=", q.kind);
  const rows = (await sel.orderBy(tExpr).orderBy("seq").execute()).map(row);
  if (!q.stream || (q.kind && q.kind !== "reading")) return rows;
  const blocks = await base()
    .where("kind", "=", "block")
    .where("body", "like", blockLike(q.stream))
    .execute();
  const all = [...rows, ...blocks.map(row).flatMap((r) => expandBlock(r, q.stream))];
  return all.sort((a, b) => a.t - b.t || a.seq - b.seq);
}

const plain = (rows: StoredRow[]) => rows.map(({ receivedAt: _r, corrected: _c, ...r }) => r);
const sortGroups = <T extends { device: string; stream: string }>(g: T[]) =>
  [...g].sort((a, b) => `${a.device}/${a.stream}`.localeCompare(`${b.device}/${b.stream}`));

const queryArb = fc.record({
  devices: fc.subarray(DEVICES, { minLength: 1 }),
  fromH: fc.integer({ min: -40, max: 15 * 24 }),
  lenH: fc.integer({ min: 0, max: 10 * 24 }),
  asOfH: fc.integer({ min: 0, max: 22 * 24 }),
  stream: fc.option(fc.constantFrom(...STREAMS, "modbus.plc1", "census")),
  kind: fc.option(fc.constantFrom("reading", "block", "census", "event", "delivery")),
});

const here = await dialectsHere();

for (const dialect of DIALECTS)
  describe.runIf(here[dialect])(`batched evaluation on ${dialect}`, () => {
    it("selections from an evidence set equal the per-window SQL reads, gates' and quality's", async () => {
      const { db, drop } = await freshDb(dialect);
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.array(recArb, { minLength: 5, maxLength: 60 }),
            fc.array(queryArb, { minLength: 3, maxLength: 6 }),
            async (recs, queries) => {
              for (const t of ["records", "streams", "gaps"] as const)
                await db.kysely.deleteFrom(t).execute();
              {
                await store(db, recs);
                // One set covering every query, loaded wider than any of them.
                const set = await loadEvidenceSet(db.kysely, {
                  devices: DEVICES,
                  from: T0 - 60 * DAY,
                  to: T0 + 30 * DAY,
                  asOf: T0 + 30 * DAY,
                  receivedFrom: T0 - 60 * DAY,
                });
                for (const q of queries) {
                  const w = {
                    devices: q.devices,
                    from: T0 + q.fromH * H,
                    to: T0 + (q.fromH + q.lenH) * H,
                    asOf: T0 + q.asOfH * H,
                  };
                  const eq = { ...w, stream: q.stream ?? undefined, kind: q.kind ?? undefined };
                  expect(plain(selectEvidence(set, eq))).toEqual(await readEvidenceSql(db.kysely, eq));
                  const qw = {
                    ...w,
                    batch: { id: "b1", barn: "barn1", headPlaced: 20_000, placedAt: T0 },
                    lookbackDays: 3,
                    intakeKgAt: (age: number) => 0.1 + age / 100,
                  };
                  const mine = qualityInputOf(set, qw);
                  const theirs = await loadQualityInput(db.kysely, qw);
                  expect({
                    ...mine,
                    unplaced: sortGroups(mine.unplaced),
                    corrected: sortGroups(mine.corrected),
                  }).toEqual({
                    ...theirs,
                    unplaced: sortGroups(theirs.unplaced),
                    corrected: sortGroups(theirs.corrected),
                  });
                }
              }
            },
          ),
          { numRuns: dialect === "postgres" ? 6 : 20 },
        );
      } finally {
        await drop();
      }
    }, 300_000);

    it("a set of tranches decides what each tranche decides alone", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(recArb, { minLength: 20, maxLength: 120 }),
          fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
          fc.integer({ min: 8 * 24, max: 20 * 24 }),
          async (recs, released, asOfH) => {
            const { db, drop } = await freshDb(dialect);
            try {
              await seedBatch(db);
              // Two more batches on their own facilities and devices (a device finances one open batch).
              for (const [i, devices] of [
                [2, ["gw2"]],
                [3, ["gw3"]],
              ] as const) {
                await createFacility(
                  db.kysely,
                  {
                    id: `fac${i}`,
                    borrowerId: "coop1",
                    currency: "CNY",
                    limitFen: 2_000_000_000,
                    termStart: T0 - DAY,
                    termMonths: 14,
                    maxDrawdownDays: 60,
                    annualRate: "10%",
                    dayCount: "ACT/360",
                    thresholds: i === 3 ? { staleHours: 100, maxSilenceHours: 200 } : {},
                    waterfall: ["fees", "interest", "principal"],
                    debtor: { name: "Rural Bank", account: "6228480010000001", bic: "ABOCCNBJ" },
                  },
                  T0,
                );
                await createBatch(
                  db.kysely,
                  {
                    id: `b${i}`,
                    facilityId: `fac${i}`,
                    barn: `barn${i}`,
                    species: "broiler",
                    headPlaced: 20_000,
                    placedAt: T0 + (i - 2) * DAY,
                    trancheDays: 7,
                    devices: [...devices],
                    supplierId: "feedco",
                    feedPriceFenPerKg: 260,
                    livePriceFenPerKg: 900,
                  },
                  T0,
                );
              }
              await store(db, recs);
              // Earlier tranches released (as test data): gate (e) judges their deliveries.
              const ts = await db.kysely
                .selectFrom("lending_tranches")
                .selectAll()
                .orderBy("batch_id")
                .orderBy("seq")
                .execute();
              const early = ts.filter((t) => t.seq <= 2);
              for (const [i, t] of early.entries())
                if (released[i])
                  await db.kysely
                    .updateTable("lending_tranches")
                    .set({
                      status: "released",
                      released_at: Number(t.due_at) + H,
                      released_kg: 900,
                      released_fen: 234_000,
                    })
                    .where("id", "=", t.id)
                    .execute();
              const asOf = T0 + asOfH * H;
              const ids = ts.filter((t) => Number(t.due_at) <= asOf).map((t) => t.id);
              const ctx = testCtx(db);
              const together = (await gateContexts(ctx, ids, asOf)).map(assess);
              // Every record there is, whatever span a tranche's inputs would load: the span must miss nothing.
              const everything = await loadEvidenceSet(db.kysely, {
                devices: DEVICES,
                from: T0 - 60 * DAY,
                to: T0 + 60 * DAY,
                asOf,
                receivedFrom: T0 - 60 * DAY,
              });
              for (const [i, id] of ids.entries()) {
                const alone = assess(await gateContext(ctx, id, asOf));
                const wide = await gateContext(ctx, id, asOf);
                wide.evidence = everything;
                expect(assess(wide).decision).toEqual(alone.decision);
                expect(together[i]!.decision).toEqual(alone.decision);
                expect(together[i]!.g.findings).toEqual(alone.g.findings);
                expect(together[i]!.verified).toEqual(alone.verified);
              }
            } finally {
              await drop();
            }
          },
        ),
        { numRuns: dialect === "postgres" ? 3 : 8 },
      );
    }, 300_000);
  });

import { afterEach, describe, expect, it } from "vitest";
import type { Db } from "../../db/connect.ts";
import { gateContext } from "../evaluate.ts";
import { gateDelivery } from "../gates-d-e.ts";
import { freshDb } from "./fresh-db.ts";
import { DAY, seedBatch, T0, testCtx } from "./helpers.ts";

const H = 3_600_000;

/** Gate (e): each delivery judged against its own order, with the tolerance docs/lending.md states. */
describe("gate (e) delivery", () => {
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await drop?.();
  });

  async function setup() {
    const f = await freshDb("sqlite");
    drop = f.drop;
    const { tranches } = await seedBatch(f.db, { head: 20_000 });
    return { db: f.db, tranches };
  }

  let seq = 0;
  const silo = (db: Db, t: number, value: number) =>
    db.kysely
      .insertInto("records")
      .values({
        device: "gw1",
        stream: "silo.weight",
        seq: ++seq,
        kind: "reading",
        t_wall: t,
        t_boot: "b",
        t_mono: t - T0,
        t_synced: 1,
        t_corrected: null,
        body: JSON.stringify({ value, unit: "kg" }),
        prev: "00",
        hash: "00",
        received_at: t,
      })
      .execute();
  /** Marks tranche `seq` released (kg paid at `at`) or held, as the engine would have. */
  const decided = (db: Db, s: number, status: "released" | "held", kg: number, at: number) =>
    db.kysely
      .updateTable("lending_tranches")
      .set({
        status,
        released_kg: status === "released" ? kg : 0,
        released_fen: status === "released" ? kg * 260 : 0,
        released_at: status === "released" ? at : null,
        decided_at: at,
      })
      .where("id", "=", `b1-t${s}`)
      .execute();
  /** Hourly silo readings over [from, to) falling 5 kg/h, with a step of `rise` kg at `riseAt`. */
  async function series(db: Db, from: number, to: number, start: number, rises: Array<[number, number]>) {
    let v = start;
    for (let t = from; t < to; t += H) {
      for (const [at, kg] of rises) if (at === t) v += kg;
      await silo(db, t, Math.round(v * 10) / 10);
      v -= 5;
    }
  }

  it("a short delivery holds the next tranche only, not every tranche after it (no permanent hold)", async () => {
    const { db, tranches } = await setup();
    const [t0, t1, t2] = tranches;
    await decided(db, t0!.seq, "released", 1000, t0!.dueAt);
    // Only 500 of the 1000 kg paid arrive.
    await series(db, t0!.dueAt - DAY, t2!.dueAt + H, 3000, [[t0!.dueAt + 6 * H, 500]]);
    const ctx = testCtx(db);
    const e1 = await gateDelivery(await gateContext(ctx, `b1-t${t1!.seq}`, t1!.dueAt));
    expect(e1.pass).toBe(false);
    await decided(db, t1!.seq, "held", 0, t1!.dueAt);
    // Tranche 2's window has no order of its own to confirm: the short delivery was judged once.
    const e2 = await gateDelivery(await gateContext(ctx, `b1-t${t2!.seq}`, t2!.dueAt));
    expect(e2.pass).toBe(true);
  });

  it("exactly the tolerance off passes, whatever floating point makes of the subtraction", async () => {
    const { db, tranches } = await setup();
    const [t0, t1] = tranches;
    await decided(db, t0!.seq, "released", 1234, t0!.dueAt);
    // 1110.6 of 1234 kg is 10.0% short, allowed 10%; in floating point 123.4 / 1234 is 0.10000000000000007.
    await silo(db, t0!.dueAt + 5 * H, 500);
    await silo(db, t0!.dueAt + 6 * H, 1610.6);
    await silo(db, t0!.dueAt + 7 * H, 1610.6);
    const e = await gateDelivery(await gateContext(testCtx(db), `b1-t${t1!.seq}`, t1!.dueAt));
    expect(e.reason).toMatch(/10(\.0)?% (off|short), allowed 10%/);
    expect(e.pass).toBe(true);
  });

  it("an over-delivery confirms the order (docs/lending.md: the kg paid shows up)", async () => {
    const { db, tranches } = await setup();
    const [t0, t1] = tranches;
    await decided(db, t0!.seq, "released", 1000, t0!.dueAt);
    await series(db, t0!.dueAt - DAY, t1!.dueAt + H, 3000, [[t0!.dueAt + 6 * H, 1400]]);
    const e = await gateDelivery(await gateContext(testCtx(db), `b1-t${t1!.seq}`, t1!.dueAt));
    expect(e.pass).toBe(true);
  });

  it("judges the delivery of a tranche released late (re-evaluated) against that tranche's own order", async () => {
    const { db, tranches } = await setup();
    const [t0, t1, t2] = tranches;
    await decided(db, t0!.seq, "released", 1000, t0!.dueAt);
    // Tranche 1 released two days late for 2000 kg; both deliveries arrive in full.
    await decided(db, t1!.seq, "released", 2000, t1!.dueAt + 2 * DAY);
    await series(db, t0!.dueAt - DAY, t2!.dueAt + H, 3000, [
      [t0!.dueAt + 6 * H, 1000],
      [t1!.dueAt + 2 * DAY + 6 * H, 2000],
    ]);
    const e = await gateDelivery(await gateContext(testCtx(db), `b1-t${t2!.seq}`, t2!.dueAt));
    expect(e.pass).toBe(true);
    expect(e.figures.paidKg).toBe(2000);
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { collateralOf } from "../collateral.ts";
import { at, loadProfile } from "../profile.ts";
import { freshDb } from "./fresh-db.ts";
import { DAY, recordPutter, seedBatch, T0, testCtx } from "./helpers.ts";

/** Collateral reads only what the cloud held at the time asked: newest census of the barn, newest silo weight. */
describe("collateral", () => {
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await drop?.();
  });

  it("values the census head (not the plan) and the silo's feed, as known at the time asked", async () => {
    const f = await freshDb("sqlite");
    drop = f.drop;
    await seedBatch(f.db, { head: 20_000 });
    const put = recordPutter(f.db);
    await put(
      "census",
      "census",
      { barn: "barn1", from: T0, to: T0 + 5 * DAY, count: 19_500, method: "faces" },
      T0 + 5 * DAY,
    );
    await put(
      "census",
      "census",
      { barn: "other-barn", from: T0, to: T0 + 6 * DAY, count: 10, method: "faces" },
      T0 + 6 * DAY,
    );
    await put("silo.weight", "reading", { value: 4_000, unit: "kg" }, T0 + 6 * DAY);
    // Captured before the time asked but received after it: not known then.
    await put("silo.weight", "reading", { value: 9_999, unit: "kg" }, T0 + 7 * DAY, T0 + 12 * DAY);
    const ctx = testCtx(f.db);
    const c = await collateralOf(ctx, "b1", T0 + 10 * DAY);
    const weight = at(loadProfile("broiler").weightKg, 10);
    expect(c).toMatchObject({
      head: 19_500,
      headSource: "census",
      feedStockKg: 4_000,
      feedStockFen: 4_000 * 260,
    });
    expect(c.herdValueFen).toBe(Math.round(19_500 * weight * 900));
    // Before any census the head is the plan's survivors.
    const early = await collateralOf(ctx, "b1", T0 + 2 * DAY);
    expect(early.headSource).toBe("plan");
    expect(early.feedStockKg).toBe(0);
  });
});

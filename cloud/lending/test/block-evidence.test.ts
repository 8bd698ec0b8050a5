import { afterEach, describe, expect, it } from "vitest";
import { citesOf } from "../../quality/cite.ts";
import { loadQualityInput } from "../../quality/load.ts";
import { collateralOf } from "../collateral.ts";
import { readEvidence } from "../evidence.ts";
import { freshDb } from "./fresh-db.ts";
import { DAY, recordPutter, seedBatch, T0, testCtx } from "./helpers.ts";

/**
 * The Modbus driver records each register block as one `block` record holding every sensor's value
 * by its stream name. Gates, quality checks and collateral read sensors by name: they must see those
 * values, or a barn on the default driver settings looks silent (and its silo empty).
 */
describe("sensor values inside block records", () => {
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await drop?.();
  });

  it("are readings of their names for the gates, the quality checks and collateral; citations name the block", async () => {
    const f = await freshDb("sqlite");
    drop = f.drop;
    await seedBatch(f.db, { head: 20_000 });
    const put = recordPutter(f.db);
    for (let h = 0; h < 6; h++)
      await put(
        "modbus.plc1",
        "block",
        {
          values: { "env.temperature": 21 + h / 10, "env.humidity": 60, "silo.weight": 5_000 - h * 10 },
          units: { "env.temperature": "°C", "env.humidity": "%", "silo.weight": "kg" },
        },
        T0 + DAY + h * 3_600_000,
      );
    // A plain reading of the same sensor from another stream interleaves in time order.
    await put("env.temperature", "reading", { value: 22.5, unit: "°C" }, T0 + DAY + 30 * 60_000);
    const window = { devices: ["gw1"], from: T0, to: T0 + 2 * DAY, asOf: T0 + 2 * DAY };

    const temps = await readEvidence(f.db.kysely, { ...window, stream: "env.temperature" });
    expect(temps.map((r) => r.body.value)).toEqual([21, 22.5, 21.1, 21.2, 21.3, 21.4, 21.5]);
    expect(temps.every((r) => r.stream === "env.temperature" && r.kind === "reading")).toBe(true);
    expect(temps[0]).toMatchObject({ recordStream: "modbus.plc1", body: { unit: "°C" } });
    const cites = citesOf(temps);
    expect(cites.map((c) => `${c.stream}:${c.fromSeq}-${c.toSeq}`).sort()).toEqual([
      "env.temperature:7-7",
      "modbus.plc1:1-6",
    ]);
    // Two sensors' values from the same six block records cite six records, not twelve.
    const both = [
      ...temps,
      ...(await readEvidence(f.db.kysely, { ...window, stream: "env.humidity" })),
    ].filter((r) => r.recordStream);
    expect(citesOf(both)).toEqual([expect.objectContaining({ stream: "modbus.plc1", count: 6 })]);
    // Asked for another kind, blocks are not expanded.
    expect(await readEvidence(f.db.kysely, { ...window, stream: "env.temperature", kind: "census" })).toEqual(
      [],
    );

    const q = await loadQualityInput(f.db.kysely, {
      batch: "b1",
      ...window,
      lookbackDays: 0,
      intakeKgAt: () => 0,
    } as never);
    expect(q.readings.get("gw1\0silo.weight")?.map((r) => r.body.value)).toEqual([
      5_000, 4_990, 4_980, 4_970, 4_960, 4_950,
    ]);
    expect(q.readings.get("gw1\0env.humidity")?.length).toBe(6);
    expect(q.readings.get("gw1\0env.temperature")?.length).toBe(7);

    const c = await collateralOf(testCtx(f.db), "b1", T0 + 2 * DAY);
    expect(c.feedStockKg).toBe(4_950);
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { freshDb, postgresAvailable } from "../../test/helpers/services.ts";
import type { Db } from "../db/connect.ts";
import { valueHistory } from "./value-history.ts";

// Per-value history over both record shapes: a sensor's own `reading` stream and its value inside
// `block` records (one Modbus register block per record), on SQLite and PostgreSQL.
async function seed(db: Db) {
  let seq = 0;
  const put = (device: string, stream: string, kind: string, body: object, t: number, corrected?: number) =>
    db.kysely
      .insertInto("records")
      .values({
        device,
        stream,
        seq: ++seq,
        kind,
        t_wall: t,
        t_boot: "b",
        t_mono: t,
        t_synced: 1,
        t_corrected: corrected ?? null,
        body: JSON.stringify(body),
        prev: "00",
        hash: "00",
        received_at: t,
      })
      .execute();
  const block = (values: Record<string, number>) => ({
    values,
    units: { "env.temperature": "degC", "env.humidity": "%" },
  });
  await put("gw1", "env.temperature", "reading", { unit: "degC", value: 20 }, 1000);
  await put("gw1", "bus1.th1", "block", block({ "env.humidity": 60, "env.temperature": 21 }), 2000);
  await put("gw1", "bus1.th1", "block", block({ "env.humidity": 61, "env.temperature": 22 }), 3000, 2500);
  // Names that only resemble the one asked for, and another device's block.
  await put("gw1", "bus1.th2", "block", { values: { env_temperature: 99, "env.temperature.max": 98 } }, 4000);
  await put("gw2", "bus1.th1", "block", block({ "env.temperature": 50 }), 2000);
  await put("gw1", "env.humidity", "reading", { unit: "%", value: 59 }, 500);
}

const here = { sqlite: true, postgres: await postgresAvailable() };

for (const dialect of ["sqlite", "postgres"] as const) {
  describe.runIf(here[dialect])(`value history from readings and blocks (${dialect})`, () => {
    let drop: (() => Promise<void>) | undefined;
    afterEach(async () => {
      await drop?.();
      drop = undefined;
    });

    it("merges a sensor's reading stream and its values in blocks, by time, per device", async () => {
      const f = await freshDb(dialect);
      drop = f.drop;
      await seed(f.db);
      const pts = await valueHistory(f.db, ["gw1"], "env.temperature");
      expect(pts.map((p) => [p.t, p.value, p.unit, p.stream])).toEqual([
        [1000, 20, "degC", "env.temperature"],
        [2000, 21, "degC", "bus1.th1"],
        [2500, 22, "degC", "bus1.th1"], // the corrected time where the cloud knows it
      ]);
      expect((await valueHistory(f.db, ["gw1", "gw2"], "env.temperature")).map((p) => p.value)).toEqual([
        20, 21, 50, 22,
      ]);
      expect((await valueHistory(f.db, ["gw1"], "env.humidity")).map((p) => p.value)).toEqual([59, 60, 61]);
      expect((await valueHistory(f.db, ["gw1"], "env.temperature", { from: 1500, to: 3000 })).length).toBe(2);
      expect(await valueHistory(f.db, [], "env.temperature")).toEqual([]);
    });
  });
}

import { generateKeyPair } from "../../../core/keys.ts";
import { silentLogger } from "../../../core/log.ts";
import { postgresAvailable } from "../../../test/helpers/services.ts";
import type { CloudContext } from "../../context.ts";
import type { Db } from "../../db/connect.ts";
import { createBatch, createBorrower, createFacility, createSupplier } from "../setup.ts";

export const DAY = 86_400_000;
export const T0 = Date.parse("2025-03-03T00:00:00Z");

/**
 * Stores records of device `gw1` straight into the evidence table (what ingest would have committed),
 * one seq after another: `put(stream, kind, body, capturedAt, receivedAt = capturedAt)`.
 */
export function recordPutter(db: Db, device = "gw1") {
  let seq = 0;
  return (stream: string, kind: string, body: object, t: number, received = t) =>
    db.kysely
      .insertInto("records")
      .values({
        device,
        stream,
        seq: ++seq,
        kind,
        t_wall: t,
        t_boot: "b",
        t_mono: t - T0,
        t_synced: 1,
        t_corrected: null,
        body: JSON.stringify(body),
        prev: "00",
        hash: "00",
        received_at: received,
      })
      .execute();
}

export function testCtx(db: Db, clock = { now: T0 }): CloudContext & { commands: unknown[] } {
  const commands: unknown[] = [];
  return {
    db,
    log: silentLogger,
    key: generateKeyPair(),
    now: () => clock.now,
    commands,
    async sendCommand(device, name, args) {
      commands.push({ device, name, args });
    },
  };
}

/** A borrower, supplier, facility and one broiler batch of `head` birds placed at T0. */
export async function seedBatch(
  db: Db,
  o: { limitFen?: number; head?: number; rate?: string; batchId?: string } = {},
) {
  const k = db.kysely;
  await createBorrower(k, { id: "coop1", name: "Co-op", kind: "cooperative" }, T0);
  await createSupplier(
    k,
    { id: "feedco", name: "Feed Co & Sons <Ltd>", account: "6222020200112233", bic: "ICBKCNBJ" },
    T0,
  );
  await createFacility(
    k,
    {
      id: "fac1",
      borrowerId: "coop1",
      currency: "CNY",
      limitFen: o.limitFen ?? 2_000_000_000,
      termStart: T0 - DAY,
      termMonths: 14,
      maxDrawdownDays: 60,
      annualRate: o.rate ?? "10%",
      dayCount: "ACT/360",
      thresholds: {},
      waterfall: ["fees", "interest", "principal"],
      debtor: { name: "Rural Bank", account: "6228480010000001", bic: "ABOCCNBJ" },
    },
    T0,
  );
  return createBatch(
    k,
    {
      id: o.batchId ?? "b1",
      facilityId: "fac1",
      barn: "barn1",
      species: "broiler",
      headPlaced: o.head ?? 20_000,
      placedAt: T0,
      trancheDays: 7,
      devices: ["gw1"],
      supplierId: "feedco",
      feedPriceFenPerKg: 260,
      livePriceFenPerKg: 900,
    },
    T0,
  );
}

export const DIALECTS = ["sqlite", "postgres"] as const;

/**
 * Whether each dialect's tests can run here: SQLite always, PostgreSQL when it is reachable (off
 * CI a missing PostgreSQL skips them with a printed reason; under CI=true it fails:
 * test/helpers/services.ts). Use as `for (const dialect of DIALECTS) describe.runIf(here[dialect])(…)`.
 */
export async function dialectsHere(): Promise<Record<(typeof DIALECTS)[number], boolean>> {
  return { sqlite: true, postgres: await postgresAvailable() };
}

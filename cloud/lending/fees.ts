import type { Kysely } from "kysely";
import type { DB } from "../db/schema.ts";
import { postTx } from "./ledger.ts";
import { localDayStart, localDays } from "./local-day.ts";
import { parseServicing } from "./servicing-terms.ts";

/**
 * The facility's fee schedule. At a release: each `fixed` fee once per batch (at its first
 * release) and each `percent` fee on the released amount (parts per million, rounded half-up to the
 * fen). Unique refs ("fee:<name>:<batch>" / "fee:<name>:<tranche>") book each fee once.
 */
export async function postReleaseFees(
  trx: Kysely<DB>,
  f: { id: string; servicing: string },
  batchId: string,
  trancheId: string,
  releasedFen: number,
  at: number,
): Promise<void> {
  for (const fee of parseServicing(f.servicing).fees) {
    let fen = 0;
    let ref = "";
    if (fee.kind === "fixed") {
      const seen = await trx
        .selectFrom("lending_ledger_tx")
        .select("id")
        .where("ref", "=", `fee:${fee.name}:${batchId}`)
        .executeTakeFirst();
      if (seen) continue;
      fen = fee.amount;
      ref = `fee:${fee.name}:${batchId}`;
    } else if (fee.kind === "percent") {
      fen = Math.floor((releasedFen * fee.amount * 2 + 1_000_000) / 2_000_000);
      ref = `fee:${fee.name}:${trancheId}`;
    } else continue;
    await book(trx, f.id, batchId, ref, `${fee.name} (${fee.kind})`, fen, at);
  }
}

/**
 * Periodic fees: `amount` fen every `everyDays` local days from the batch's placement, posted by
 * the daily servicing job for each period begun while the batch is open (ref per period number).
 */
export async function postPeriodicFees(
  trx: Kysely<DB>,
  b: { id: string; facility_id: string; placed_at: number },
  servicing: string,
  at: number,
): Promise<number> {
  const terms = parseServicing(servicing);
  let total = 0;
  for (const fee of terms.fees.filter((x) => x.kind === "periodic")) {
    const every = fee.everyDays ?? 30;
    const start = localDayStart(Number(b.placed_at), terms.timeZone);
    if (at < start) continue;
    const periods = Math.floor(localDays(start, at, terms.timeZone) / every) + 1;
    for (let n = 1; n <= periods; n++) {
      const ref = `fee:${fee.name}:${b.id}:${n}`;
      const seen = await trx
        .selectFrom("lending_ledger_tx")
        .select("id")
        .where("ref", "=", ref)
        .executeTakeFirst();
      if (seen) continue;
      await book(trx, b.facility_id, b.id, ref, `${fee.name} period ${n}`, fee.amount, at);
      total += fee.amount;
    }
  }
  return total;
}

async function book(
  trx: Kysely<DB>,
  facilityId: string,
  batchId: string,
  ref: string,
  memo: string,
  fen: number,
  at: number,
) {
  if (fen <= 0) return;
  await postTx(trx, {
    facilityId,
    batchId,
    kind: "fee",
    ref,
    memo,
    lines: [
      { account: "fee_receivable", amountFen: fen },
      { account: "fee_income", amountFen: -fen },
    ],
    at,
  });
}

import { sql } from "kysely";
import type { Db } from "../../db/connect.ts";

/**
 * An independent checker, as an auditor would write it: raw SQL over the stored rows and its own
 * arithmetic, no lending code. Returns the broken invariants (empty when all hold).
 * Interest is recomputed from the ledger's principal movements by Beijing calendar day (UTC+8, no
 * daylight saving), ACT/360, exactly in BigInt, and compared with the engine's accrual numerator.
 */
export async function independentCheck(
  db: Db,
  facilityId: string,
): Promise<{ problems: string[]; balances: Record<string, Record<string, number>> }> {
  const k = db.kysely;
  const problems: string[] = [];
  const rows = await sql<{
    tx_id: string;
    batch_id: string | null;
    kind: string;
    ref: string;
    posted_at: string | number;
    account: string;
    amount_fen: string | number;
  }>`
    select t.id as tx_id, t.batch_id, t.kind, t.ref, t.posted_at, e.account, e.amount_fen
    from lending_ledger_tx t join lending_ledger_entries e on e.tx_id = t.id
    where t.facility_id = ${facilityId} order by t.posted_at, t.id, e.line`.execute(k);
  const perTx = new Map<string, number>();
  const bal: Record<string, Record<string, number>> = {};
  for (const r of rows.rows) {
    const amt = Number(r.amount_fen);
    if (!Number.isSafeInteger(amt)) problems.push(`tx ${r.tx_id}: non-integer amount ${r.amount_fen}`);
    perTx.set(r.tx_id, (perTx.get(r.tx_id) ?? 0) + amt);
    const b = r.batch_id ?? "-";
    bal[b] ??= {};
    bal[b][r.account] = (bal[b][r.account] ?? 0) + amt;
  }
  for (const [tx, s] of perTx) if (s !== 0) problems.push(`tx ${tx} does not balance: ${s}`);
  const f = (
    await sql<{ limit_fen: string | number; committed_fen: string | number; rate_ppm: number }>`
    select limit_fen, committed_fen, rate_ppm from lending_facilities where id = ${facilityId}`.execute(k)
  ).rows[0];
  if (!f) return { problems: [`no facility ${facilityId}`], balances: bal };
  let principal = 0;
  for (const [b, accts] of Object.entries(bal)) {
    const p = accts.loan_principal ?? 0;
    if (p < 0) problems.push(`batch ${b}: principal ${p} < 0`);
    for (const a of ["interest_receivable", "fee_receivable", "penalty_receivable"])
      if ((accts[a] ?? 0) < 0) problems.push(`batch ${b}: ${a} ${accts[a]} < 0`);
    principal += p;
  }
  const held = (
    await sql<{ s: string | number | null }>`
    select sum(amount_fen) as s from lending_reservations where facility_id = ${facilityId} and status = 'held'`.execute(
      k,
    )
  ).rows[0];
  const committed = Number(f.committed_fen);
  const expectCommitted = Number(held?.s ?? 0) + principal;
  if (committed !== expectCommitted)
    problems.push(
      `committed ${committed} ≠ held reservations + outstanding principal ${expectCommitted} (limit freed twice or not at all)`,
    );
  if (committed < 0 || committed > Number(f.limit_fen))
    problems.push(`committed ${committed} outside [0, ${f.limit_fen}]`);
  // Each tranche: at most one release posting, one order, and released_fen equals its posting.
  const tr = await sql<{
    id: string;
    status: string;
    released_fen: string | number;
    n: string | number;
    posted: string | number | null;
    orders: string | number;
  }>`
    select t.id, t.status, t.released_fen,
      (select count(*) from lending_ledger_tx x where x.ref = 'release:' || t.id) as n,
      (select sum(e.amount_fen) from lending_ledger_tx x join lending_ledger_entries e on e.tx_id = x.id
        where x.ref = 'release:' || t.id and e.account = 'loan_principal') as posted,
      (select count(*) from lending_payment_orders o where o.tranche_id = t.id) as orders
    from lending_tranches t join lending_batches b on b.id = t.batch_id where b.facility_id = ${facilityId}`.execute(
    k,
  );
  for (const t of tr.rows) {
    if (Number(t.n) > 1 || Number(t.orders) > 1)
      problems.push(`tranche ${t.id} released ${t.n} times, ${t.orders} orders`);
    const released = t.status === "released" ? Number(t.released_fen) : 0;
    if (released !== Number(t.posted ?? 0))
      problems.push(`tranche ${t.id}: released_fen ${released} ≠ posted ${t.posted}`);
    if ((t.status === "released") !== (Number(t.orders) === 1))
      problems.push(`tranche ${t.id} ${t.status} with ${t.orders} orders`);
  }
  // Interest: Σ over Beijing days before accrued_through of (principal at that day's end) × rate.
  const batches = await sql<{ id: string; interest_num: string; accrued_through: string | number }>`
    select id, interest_num, accrued_through from lending_batches where facility_id = ${facilityId}`.execute(
    k,
  );
  const BJ = 8 * 3_600_000;
  const day = (ms: number) => Math.floor((ms + BJ) / 86_400_000);
  for (const b of batches.rows) {
    const moves = rows.rows.filter((r) => r.batch_id === b.id && r.account === "loan_principal");
    const through = day(Number(b.accrued_through));
    let num = 0n;
    if (moves.length > 0) {
      for (let d = day(Number(moves[0]!.posted_at)); d < through; d++) {
        const p = moves
          .filter((m) => day(Number(m.posted_at)) <= d)
          .reduce((s, m) => s + Number(m.amount_fen), 0);
        num += BigInt(p) * BigInt(f.rate_ppm);
      }
    }
    if (num !== BigInt(b.interest_num))
      problems.push(`batch ${b.id}: interest numerator ${b.interest_num} ≠ recomputed ${num}`);
  }
  return { problems, balances: bal };
}

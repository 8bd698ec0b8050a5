import { randomUUID } from "node:crypto";
import type { Kysely, Transaction } from "kysely";
import type { DB } from "../db/schema.ts";
import { ERR_LENDING_STATE, ERR_LENDING_UNBALANCED } from "./errors.ts";

/**
 * The double-entry ledger. Accounts (per facility; a transaction may name its batch):
 * assets (debit balance) loan_principal, interest_receivable, fee_receivable, cash;
 * liabilities and income (credit balance) supplier_payable, borrower_credit, interest_income,
 * fee_income; servicing (issue #11) adds penalty_receivable / penalty_income, loan_loss_allowance
 * (a contra-asset, credit balance) / provision_expense, write_off_expense and recovery_income. Lines are debit-positive; every transaction sums to zero. Nothing is updated or
 * deleted (triggers enforce it): a mistake is fixed by a correcting transaction.
 */
export const ACCOUNTS = [
  "loan_principal",
  "interest_receivable",
  "fee_receivable",
  "cash",
  "supplier_payable",
  "borrower_credit",
  "interest_income",
  "fee_income",
  "penalty_receivable",
  "penalty_income",
  "loan_loss_allowance",
  "provision_expense",
  "write_off_expense",
  "recovery_income",
] as const;
export type Account = (typeof ACCOUNTS)[number];

export interface Line {
  account: Account;
  amountFen: number;
}

export interface TxInput {
  facilityId: string;
  batchId?: string | null;
  kind: string;
  /** Unique business key: a second posting of the same event fails on the unique index. */
  ref: string;
  memo: string;
  lines: Line[];
  corrects?: string;
  at: number;
}

type Q = Kysely<DB> | Transaction<DB>;

export function checkBalanced(lines: Line[]): void {
  if (lines.length < 2) throw ERR_LENDING_UNBALANCED("a transaction needs at least two lines");
  let sum = 0;
  for (const l of lines) {
    if (!Number.isSafeInteger(l.amountFen))
      throw ERR_LENDING_UNBALANCED(`amount ${l.amountFen} is not integer fen`);
    if (!(ACCOUNTS as readonly string[]).includes(l.account))
      throw ERR_LENDING_UNBALANCED(`unknown account ${l.account}`);
    sum += l.amountFen;
  }
  if (sum !== 0) throw ERR_LENDING_UNBALANCED(`transaction lines sum to ${sum} fen, not 0`);
}

/** Posts one balanced transaction; call inside the caller's database transaction. Returns its id. */
export async function postTx(q: Q, tx: TxInput): Promise<string> {
  const [id] = await postTxs(q, [tx]);
  return id as string;
}

/**
 * Posts several balanced transactions in two statements (their headers, then all their lines): each
 * checked balanced, zero lines dropped, refs unique by the table's constraint. Returns their ids;
 * postTx is the set of one.
 */
export async function postTxs(q: Q, txs: TxInput[]): Promise<string[]> {
  if (txs.length === 0) return [];
  const all = txs.map((tx) => {
    const lines = tx.lines.filter((l) => l.amountFen !== 0);
    checkBalanced(lines);
    return { tx, lines, id: randomUUID() };
  });
  await q
    .insertInto("lending_ledger_tx")
    .values(
      all.map(({ tx, id }) => ({
        id,
        facility_id: tx.facilityId,
        batch_id: tx.batchId ?? null,
        kind: tx.kind,
        ref: tx.ref,
        memo: tx.memo,
        corrects: tx.corrects ?? null,
        posted_at: tx.at,
      })),
    )
    .execute();
  await q
    .insertInto("lending_ledger_entries")
    .values(
      all.flatMap(({ lines, id }) =>
        lines.map((l, i) => ({ tx_id: id, line: i, account: l.account, amount_fen: l.amountFen })),
      ),
    )
    .execute();
  return all.map((a) => a.id);
}

/** Reverses a transaction with a correcting one (ref "correct:<id>", so a transaction is reversed once). */
export async function correctTx(q: Q, txId: string, memo: string, at: number): Promise<string> {
  const orig = await q.selectFrom("lending_ledger_tx").selectAll().where("id", "=", txId).executeTakeFirst();
  if (!orig) throw ERR_LENDING_STATE(`no ledger transaction ${txId}`);
  if (orig.corrects)
    throw ERR_LENDING_STATE(`transaction ${txId} is itself a correction; post a new one instead`);
  const lines = await q
    .selectFrom("lending_ledger_entries")
    .selectAll()
    .where("tx_id", "=", txId)
    .orderBy("line")
    .execute();
  return postTx(q, {
    facilityId: orig.facility_id,
    batchId: orig.batch_id,
    kind: "correction",
    ref: `correct:${txId}`,
    memo,
    corrects: txId,
    lines: lines.map((l) => ({ account: l.account as Account, amountFen: -Number(l.amount_fen) })),
    at,
  });
}

/** Every account at 0. */
export const emptyBalances = () => Object.fromEntries(ACCOUNTS.map((a) => [a, 0])) as Record<Account, number>;

/** Debit-positive balance per account, for a facility and optionally one batch. */
export async function balances(q: Q, facilityId: string, batchId?: string): Promise<Record<Account, number>> {
  let sel = q
    .selectFrom("lending_ledger_entries as e")
    .innerJoin("lending_ledger_tx as t", "t.id", "e.tx_id")
    .select(["e.account", (eb) => eb.fn.sum<string | number>("e.amount_fen").as("sum")])
    .where("t.facility_id", "=", facilityId)
    .groupBy("e.account");
  if (batchId) sel = sel.where("t.batch_id", "=", batchId);
  const rows = await sel.execute();
  const out = emptyBalances();
  // PostgreSQL returns sum(bigint) as numeric text: convert (fen totals stay far below 2^53).
  for (const r of rows) out[r.account as Account] = Number(r.sum);
  return out;
}

import type { Kysely } from "kysely";
import PDFDocument from "pdfkit";
import type { CloudContext } from "../context.ts";
import type { DB } from "../db/schema.ts";
import { collateralOf } from "./collateral.ts";
import { yuan } from "./interest.ts";
import { localDate } from "./local-day.ts";
import { payoffQuote } from "./payoff.ts";
import { parseServicing } from "./servicing-terms.ts";
import { ledgerView } from "./views.ts";

/** One loan-tape row per batch, as of an instant: what a lender's reporting and its regulator read. */
export async function loanTape(ctx: CloudContext, asOf: number) {
  const db = ctx.db.kysely;
  const batches = await db
    .selectFrom("lending_batches as b")
    .innerJoin("lending_facilities as f", "f.id", "b.facility_id")
    .select([
      "b.id",
      "b.facility_id",
      "b.barn",
      "b.species",
      "b.status",
      "f.borrower_id",
      "f.limit_fen",
      "f.currency",
    ])
    .where("b.created_at", "<=", asOf)
    .orderBy("b.facility_id")
    .orderBy("b.id")
    .execute();
  const rows = [];
  for (const b of batches) {
    const q = await payoffQuote(db, b.id, asOf);
    const released = await db
      .selectFrom("lending_tranches")
      .select((eb) => eb.fn.sum<string | number>("released_fen").as("s"))
      .where("batch_id", "=", b.id)
      .where("status", "=", "released")
      .where("released_at", "<=", asOf)
      .executeTakeFirst();
    const c = b.status === "open" ? await collateralOf(ctx, b.id, asOf) : null;
    rows.push({
      batchId: b.id,
      facilityId: b.facility_id,
      borrowerId: b.borrower_id,
      barn: b.barn,
      species: b.species,
      status: b.status,
      currency: b.currency,
      limitFen: Number(b.limit_fen),
      releasedFen: Number(released?.s ?? 0),
      outstandingPrincipalFen: q.principalFen,
      accruedInterestFen: q.interestFen,
      feesFen: q.feesFen,
      penaltyFen: q.penaltyFen,
      payoffFen: q.totalFen,
      overdueFen: q.overdueFen,
      daysPastDue: q.daysPastDue,
      classification: q.classification,
      allowanceFen: -q.balances.loan_loss_allowance,
      collateralFen: c ? c.herdValueFen + c.feedStockFen : 0,
      ltv: c?.ltv ?? null,
      asOf: new Date(asOf).toISOString(),
    });
  }
  return rows;
}

/** RFC 4180 CSV: fields with comma, quote or line break are quoted, quotes doubled. */
export function toCsv(rows: Array<Record<string, unknown>>): string {
  if (rows.length === 0) return "";
  const cols = Object.keys(rows[0]!);
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return `${[cols.join(","), ...rows.map((r) => cols.map((c) => cell(r[c])).join(","))].join("\r\n")}\r\n`;
}

export const loanTapeCsv = (rows: Array<Record<string, unknown>>) => toCsv(rows);

/** The facility's ledger lines up to `asOf` with the running balance of each line's account. */
async function statementLines(db: Kysely<DB>, facilityId: string, asOf: number) {
  const f = await db
    .selectFrom("lending_facilities")
    .select(["servicing"])
    .where("id", "=", facilityId)
    .executeTakeFirst();
  if (!f) return null;
  const tz = parseServicing(f.servicing).timeZone;
  const txs = (await ledgerView(db, facilityId)).filter((t) => Number(t.posted_at) <= asOf);
  const running: Record<string, number> = {};
  const lines = [];
  for (const t of txs) {
    for (const l of t.lines) {
      running[l.account] = (running[l.account] ?? 0) + l.amountFen;
      lines.push({
        date: localDate(Number(t.posted_at), tz),
        postedAt: new Date(Number(t.posted_at)).toISOString(),
        batchId: t.batch_id ?? "",
        kind: t.kind,
        ref: t.ref,
        memo: t.memo,
        account: l.account,
        amountFen: l.amountFen,
        amountYuan: yuan(l.amountFen),
        accountBalanceFen: running[l.account]!,
      });
    }
  }
  return { tz, lines };
}

export async function statementCsv(db: Kysely<DB>, facilityId: string, asOf: number): Promise<string> {
  const s = await statementLines(db, facilityId, asOf);
  return s ? toCsv(s.lines) : "";
}

/** A printable statement: header, per-batch payoff as of the date, then the ledger lines. */
export async function statementPdf(db: Kysely<DB>, facilityId: string, asOf: number): Promise<Buffer | null> {
  const s = await statementLines(db, facilityId, asOf);
  if (!s) return null;
  const batches = await db
    .selectFrom("lending_batches")
    .select("id")
    .where("facility_id", "=", facilityId)
    .orderBy("id")
    .execute();
  const quotes = [];
  for (const b of batches) quotes.push(await payoffQuote(db, b.id, asOf));
  const doc = new PDFDocument({ size: "A4", margin: 40, info: { Title: `Statement ${facilityId}` } });
  const chunks: Buffer[] = [];
  doc.on("data", (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve) => doc.on("end", () => resolve(Buffer.concat(chunks))));
  doc.fontSize(16).text(`Statement of facility ${facilityId}`);
  doc.fontSize(9).text(`as of ${localDate(asOf, s.tz)} (${s.tz}); amounts in yuan`);
  doc.moveDown();
  for (const q of quotes) {
    doc
      .fontSize(10)
      .text(
        `Batch ${q.batchId} (${q.status}, ${q.classification}): principal ${yuan(q.principalFen)}, interest ${yuan(q.interestFen)}, fees ${yuan(q.feesFen)}, penalty ${yuan(q.penaltyFen)}, payoff ${yuan(q.totalFen)}; overdue ${yuan(q.overdueFen)} (${q.daysPastDue} days)`,
      );
  }
  doc.moveDown();
  doc.fontSize(8);
  for (const l of s.lines) {
    doc.text(
      `${l.date}  ${l.batchId.padEnd(10)} ${l.kind.padEnd(11)} ${l.account.padEnd(20)} ${l.amountYuan.padStart(14)}  ${l.memo}`,
    );
  }
  doc.end();
  return done;
}

import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { DB } from "../db/schema.ts";
import type { Finding } from "./types.ts";

/**
 * Stores a window's findings, replacing that tranche's earlier ones in one transaction: a
 * re-evaluation with late evidence supersedes what the first look found (the decisions keep both).
 */
export async function saveFindings(
  db: Kysely<DB>,
  batchId: string,
  trancheId: string,
  findings: Finding[],
  at: number,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom("quality_findings").where("tranche_id", "=", trancheId).execute();
    for (const f of findings)
      await trx
        .insertInto("quality_findings")
        .values({
          id: randomUUID(),
          batch_id: batchId,
          tranche_id: trancheId,
          check_id: f.check,
          severity: f.severity,
          device: f.device,
          subject: f.subject,
          unusable: f.unusable ? 1 : 0,
          pending: f.pending ? 1 : 0,
          message: f.message,
          from_t: f.fromT,
          to_t: f.toT,
          figures: JSON.stringify(f.figures),
          cites: JSON.stringify(f.cites),
          analysed_at: at,
        })
        .execute();
  });
}

export interface StoredFinding extends Finding {
  id: string;
  trancheId: string;
  analysedAt: number;
}

/** A batch's findings, newest window first. */
export async function listFindings(db: Kysely<DB>, batchId: string): Promise<StoredFinding[]> {
  const rows = await db
    .selectFrom("quality_findings as f")
    .innerJoin("lending_tranches as t", "t.id", "f.tranche_id")
    .selectAll("f")
    .where("f.batch_id", "=", batchId)
    .orderBy("t.seq", "desc")
    .orderBy("f.id")
    .execute();
  return rows.map((r) => ({
    id: r.id,
    trancheId: r.tranche_id,
    analysedAt: Number(r.analysed_at),
    check: r.check_id,
    severity: r.severity as Finding["severity"],
    device: r.device,
    subject: r.subject,
    unusable: Number(r.unusable) === 1,
    pending: Number(r.pending) === 1,
    message: r.message,
    fromT: Number(r.from_t),
    toT: Number(r.to_t),
    figures: JSON.parse(r.figures) as Finding["figures"],
    cites: JSON.parse(r.cites) as Finding["cites"],
  }));
}

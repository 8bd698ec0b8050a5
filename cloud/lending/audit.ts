import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
import { canonicalJson } from "../../core/canonical.ts";
import type { DB } from "../db/schema.ts";
import { isUniqueViolation } from "./money-tx.ts";

export interface AuditInput {
  at: number;
  actor: string;
  role: string;
  /** "POST /api/v1/batches/:id/repayments" and the like. */
  action: string;
  request: unknown;
  status: number;
  result: unknown;
}

const GENESIS = "0".repeat(64);

/** The hash of an entry: SHA-256 over the previous hash and the entry's canonical JSON. */
export function auditHash(prev: string, e: AuditInput & { seq: number }): string {
  const body = canonicalJson({
    seq: e.seq,
    at: e.at,
    actor: e.actor,
    role: e.role,
    action: e.action,
    request: e.request ?? null,
    status: e.status,
    result: e.result ?? null,
  });
  return createHash("sha256").update(`${prev}\n${body}`).digest("hex");
}

/**
 * Appends to the audit log: who, when, what was asked and what came of it. The log is a hash
 * chain (each entry's hash covers the previous one), append-only by trigger and by grant
 * (migration-0102.ts). The next seq is taken from the last entry; two instances appending at once
 * collide on the primary key and the loser retries on the new head, so the chain never forks.
 */
export async function appendAudit(db: Kysely<DB>, e: AuditInput): Promise<{ seq: number; hash: string }> {
  for (let attempt = 0; ; attempt++) {
    const last = await db
      .selectFrom("lending_audit")
      .select(["seq", "hash"])
      .orderBy("seq", "desc")
      .limit(1)
      .executeTakeFirst();
    const seq = Number(last?.seq ?? 0) + 1;
    const prev = last?.hash ?? GENESIS;
    const hash = auditHash(prev, { ...e, seq });
    try {
      await db
        .insertInto("lending_audit")
        .values({
          seq,
          at: e.at,
          actor: e.actor,
          role: e.role,
          action: e.action,
          request: canonicalJson(e.request ?? null),
          status: e.status,
          result: canonicalJson(e.result ?? null),
          prev_hash: prev,
          hash,
        })
        .execute();
      return { seq, hash };
    } catch (err) {
      if (!isUniqueViolation(err) || attempt > 50) throw err;
    }
  }
}

/** Recomputes the whole chain; returns the first broken seq, or null when every link holds. */
export async function verifyAudit(
  db: Kysely<DB>,
): Promise<{ entries: number; brokenAt: number | null; head: string }> {
  const rows = await db.selectFrom("lending_audit").selectAll().orderBy("seq").execute();
  let prev = GENESIS;
  let expectSeq = 1;
  for (const r of rows) {
    const e = {
      ...r,
      seq: Number(r.seq),
      at: Number(r.at),
      request: JSON.parse(r.request),
      result: JSON.parse(r.result),
    };
    if (e.seq !== expectSeq || r.prev_hash !== prev || auditHash(prev, e) !== r.hash)
      return { entries: rows.length, brokenAt: e.seq, head: prev };
    prev = r.hash;
    expectSeq++;
  }
  return { entries: rows.length, brokenAt: null, head: prev };
}

/** Audit entries after `afterSeq`, oldest first, for auditors paging through the log. */
export async function readAudit(db: Kysely<DB>, afterSeq: number, limit: number) {
  const rows = await db
    .selectFrom("lending_audit")
    .selectAll()
    .where("seq", ">", afterSeq)
    .orderBy("seq")
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    ...r,
    seq: Number(r.seq),
    request: JSON.parse(r.request) as unknown,
    result: JSON.parse(r.result) as unknown,
  }));
}

import type { Db } from "../../cloud/db/connect.ts";
import type { startCloud } from "../../cloud/service.ts";
import { splitGeneration } from "../../sync/generation.ts";
import { out } from "../cli-kit.ts";
import type { AgentStatus, DemoAgent } from "./agents.ts";

export const produced = (s?: AgentStatus) => (s ? s.streams.reduce((n, x) => n + x.lastSeq, 0) : 0);
export const pending = (s?: AgentStatus) => (s ? s.streams.reduce((n, x) => n + x.pending, 0) : 0);

/** Records the cloud has stored, per device. */
export async function committedOf(db: Db): Promise<Map<string, number>> {
  const rows = await db.kysely
    .selectFrom("streams")
    .select(["device", (eb) => eb.fn.sum<number>("count").as("n")])
    .groupBy("device")
    .execute();
  return new Map(rows.map((r) => [r.device, Number(r.n)]));
}

/**
 * Seqs of the agent's drained status that the cloud has not committed, per device: for each stream,
 * its last seq at the drain against the cloud's contiguous committed seq (within its generation).
 * Records appended after the status was taken (a command's receipt that arrived meanwhile) are
 * committed extras, not losses: a count comparison alone would call them a failure.
 */
export async function uncommittedOf(db: Db, device: string, status: AgentStatus): Promise<number> {
  const rows = await db.kysely
    .selectFrom("streams")
    .select(["stream", "committed_seq", "seq_base"])
    .where("device", "=", device)
    .execute();
  const cloud = new Map(rows.map((r) => [r.stream, Number(r.committed_seq) - Number(r.seq_base ?? 0)]));
  let missing = 0;
  for (const st of status.streams) {
    const committed = cloud.get(splitGeneration(st.stream).name) ?? 0;
    missing += Math.max(0, st.lastSeq - committed);
  }
  return missing;
}

/** `day 2.1 · produced/committed/pending: barn-1 2495/2495/0 · …` */
export async function statusLine(db: Db, agents: DemoAgent[], day: number): Promise<string> {
  const committed = await committedOf(db);
  const parts = agents.map(
    (a) =>
      `${a.device} ${produced(a.status)}/${committed.get(a.device) ?? 0}/${pending(a.status)}${a.status?.link.connected ? "" : " (offline)"}`,
  );
  return `day ${day.toFixed(1)} · produced/committed/pending: ${parts.join(" · ")}`;
}

/** Prints the per-barn table, the tranche decisions and the cloud's counters; true if every record was committed. */
export async function printSummary(
  cloud: Awaited<ReturnType<typeof startCloud>>,
  drained: Array<{ device: string; ok: boolean; status?: AgentStatus }>,
): Promise<boolean> {
  const committed = await committedOf(cloud.ctx.db);
  let allGood = true;
  out("");
  out("summary");
  out(
    `  ${"barn".padEnd(8)} ${"produced".padStart(9)} ${"committed".padStart(9)} ${"pending".padStart(8)}  result`,
  );
  const notes: string[] = [];
  for (const d of drained) {
    const p = produced(d.status);
    const c = committed.get(d.device) ?? 0;
    const missing = d.status ? await uncommittedOf(cloud.ctx.db, d.device, d.status) : p;
    const good = d.ok && missing === 0 && pending(d.status) === 0;
    if (good && c > p)
      notes.push(
        `  ${d.device}: ${c - p} more committed than it had produced when drained (appended after: e.g. a command's receipt)`,
      );
    allGood &&= good;
    out(
      `  ${d.device.padEnd(8)} ${String(p).padStart(9)} ${String(c).padStart(9)} ${String(pending(d.status)).padStart(8)}  ${good ? "every record committed" : "NOT all committed"}`,
    );
  }
  for (const n of notes) out(n);
  const decisions = await cloud.ctx.db.kysely
    .selectFrom("lending_decisions as d")
    .innerJoin("lending_tranches as t", "t.id", "d.tranche_id")
    .select(["t.batch_id", "t.seq", "d.outcome", "d.amount_fen", "d.reasons"])
    .orderBy("t.batch_id")
    .orderBy("t.seq")
    .execute();
  if (decisions.length) out("  tranche decisions (feed paid to Golden Valley Feed Co.):");
  for (const d of decisions) {
    const reasons = JSON.parse(d.reasons) as string[];
    out(
      `    ${d.batch_id} #${d.seq}: ${d.outcome.padEnd(8)} ¥${(Number(d.amount_fen) / 100).toFixed(2).padStart(10)}${reasons.length ? `  — ${reasons.join("; ")}` : ""}`,
    );
  }
  const ing = cloud.ingest.counters;
  out(
    `  cloud: ${ing.batches} batches, ${ing.records} records stored, ${ing.duplicates} duplicates ignored, ${ing.rejected} rejected`,
  );
  return allGood;
}

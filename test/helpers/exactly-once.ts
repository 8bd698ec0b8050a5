import { sql } from "kysely";
import { expect } from "vitest";
import type { Agent } from "../../agent/agent.ts";
import type { Db } from "../../cloud/db/connect.ts";

/**
 * 0 lost, 0 duplicated: every stream of every agent holds 1..lastSeq in the cloud's database, each
 * seq once. Returns the records the agents wrote in all (for the caller's own total checks).
 */
export async function expectExactlyOnce(db: Db, agents: Agent[]): Promise<number> {
  const rows = (
    await sql<{ device: string; stream: string; n: string; distinct_seqs: string; max_seq: string }>`
      select device, stream, count(*) as n, count(distinct seq) as distinct_seqs, max(seq) as max_seq
      from records group by device, stream`.execute(db.kysely)
  ).rows;
  const inDb = new Map(rows.map((r) => [`${r.device}/${r.stream}`, r]));
  let total = 0;
  for (const a of agents)
    for (const s of a.outbox.status()) {
      const r = inDb.get(`${a.config.device}/${s.stream}`);
      expect(r, `${a.config.device}/${s.stream}`).toBeDefined();
      expect(
        { n: Number(r!.n), distinct: Number(r!.distinct_seqs), max: Number(r!.max_seq) },
        `${a.config.device}/${s.stream}`,
      ).toEqual({ n: s.lastSeq, distinct: s.lastSeq, max: s.lastSeq });
      total += s.lastSeq;
    }
  return total;
}

import type { Kysely } from "kysely";
import { ERR_NOT_FOUND } from "../../core/errors.ts";
import type { DB } from "../db/schema.ts";
import { listFindings } from "./store.ts";

const PER_CITE = 50;

/**
 * `GET /api/v1/batches/:id/findings`: each finding of the batch's decision windows with the tranche
 * it was found for and the record ranges it cites; with `records`, the cited records themselves
 * (up to 50 per range; the range's link in the dashboard pages through the rest).
 */
export async function findingsView(db: Kysely<DB>, batchId: string, withRecords: boolean) {
  const b = await db.selectFrom("lending_batches").select("id").where("id", "=", batchId).executeTakeFirst();
  if (!b) throw ERR_NOT_FOUND(`no batch ${batchId}`);
  const seqs = new Map(
    (
      await db.selectFrom("lending_tranches").select(["id", "seq"]).where("batch_id", "=", batchId).execute()
    ).map((t) => [t.id, t.seq]),
  );
  const out = [];
  for (const f of await listFindings(db, batchId)) {
    const cites = [];
    for (const c of f.cites) {
      if (!withRecords) {
        cites.push(c);
        continue;
      }
      const rows = await db
        .selectFrom("records")
        .select(["seq", "kind", "t_wall", "t_corrected", "t_synced", "body", "received_at"])
        .where("device", "=", c.device)
        .where("stream", "=", c.stream)
        .where("seq", ">=", c.fromSeq)
        .where("seq", "<=", c.toSeq)
        .orderBy("seq")
        .limit(PER_CITE)
        .execute();
      cites.push({
        ...c,
        records: rows.map((r) => ({
          seq: Number(r.seq),
          kind: r.kind,
          t: Number(r.t_corrected ?? r.t_wall),
          tWall: Number(r.t_wall),
          synced: Number(r.t_synced) === 1,
          receivedAt: Number(r.received_at),
          body: JSON.parse(r.body) as unknown,
        })),
      });
    }
    out.push({ ...f, trancheSeq: seqs.get(f.trancheId) ?? null, cites });
  }
  return out;
}

import { noColumns } from "../codec.ts";
import { PRIORITY } from "../kinds.ts";
import { NO_LINK, type OutboxParts, ROW, type RowData } from "./sqlite-layout.ts";
import { linkAt, namesOf } from "./sqlite-links.ts";
import { type BatchLimits, gapKey, type PendingItem, type PendingRun } from "./types.ts";

/** Pending items in send order: gaps not yet sent, then runs of records by priority and stream. */
export function readPending(
  ob: OutboxParts,
  limits: BatchLimits,
  after: ReadonlyMap<string, number>,
  gapsSent?: ReadonlySet<string>,
): PendingItem[] {
  const out: PendingItem[] = [];
  let records = 0;
  let bytes = 0;
  const gaps = ob.stmt("SELECT * FROM gaps ORDER BY priority, stream, from_seq").all() as Array<{
    stream: string;
    from_seq: number;
    to_seq: number;
    reason: string;
    prev: Buffer;
    hash: Buffer;
    priority: number;
  }>;
  for (const g of gaps) {
    // A gap may cover records already sent (evicted while in flight): it still has to go once.
    if (gapsSent ? gapsSent.has(gapKey(g.stream, g.from_seq)) : (after.get(g.stream) ?? 0) >= g.to_seq)
      continue;
    out.push({
      type: "gap",
      stream: g.stream,
      from: g.from_seq,
      to: g.to_seq,
      reason: g.reason,
      prev: g.prev,
      hash: g.hash,
      priority: g.priority,
    });
  }
  const order = [...ob.streams.entries()]
    .filter(
      ([name, s]) =>
        s.pending > 0 && s.priority <= (limits.maxPriority ?? PRIORITY.media) && !ob.damaged.has(name),
    )
    .sort((a, b) => a[1].priority - b[1].priority || (a[0] < b[0] ? -1 : 1));
  const select = ob.stmt(`SELECT ${ROW}, bytes FROM records WHERE sid = ? AND seq > ? ORDER BY seq LIMIT ?`);
  for (const [stream, s] of order) {
    if (records >= limits.maxRecords || bytes >= limits.maxBytes) break;
    const rows = select.all(s.sid, after.get(stream) ?? 0, limits.maxRecords - records) as RowData[];
    const runs: PendingRun[] = [];
    let n = 0;
    let b = 0;
    try {
      let run: PendingRun | undefined;
      for (const r of rows) {
        if (bytes + b + r.bytes > limits.maxBytes && records + n > 0) break;
        const { kind, boot } = namesOf(ob, stream, r);
        const prio = ob.kindPriority.get(r.kid)!;
        if (!run || r.seq !== run.last + 1) {
          run = {
            type: "records",
            stream,
            first: r.seq,
            prev: NO_LINK,
            columns: noColumns(),
            last: r.seq - 1,
            hash: NO_LINK,
            bytes: 0,
            priority: prio,
          };
          runs.push(run);
        }
        const c = run.columns;
        c.wall.push(r.t_wall);
        c.mono.push(r.t_mono);
        c.synced.push(r.t_synced === 1);
        c.kind.push(kind);
        c.boot.push(boot);
        c.body.push(r.body);
        run.last = r.seq;
        run.bytes += r.bytes;
        if (prio < run.priority) run.priority = prio;
        n++;
        b += r.bytes;
      }
      // Links only at the ends of each run (the cloud recomputes the rest): stored ones as they
      // are, others recomputed and checked against the next stored link.
      for (const rn of runs) {
        rn.prev = linkAt(ob, stream, s, rn.first - 1);
        rn.hash = linkAt(ob, stream, s, rn.last);
      }
    } catch (e) {
      // A stream whose stored records fail their chain is held; the others go on.
      ob.hold(stream, e);
      continue;
    }
    out.push(...runs);
    records += n;
    bytes += b;
  }
  return out;
}

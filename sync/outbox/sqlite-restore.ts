import { priorityOf } from "../kinds.ts";
import { relink, type Salvage, type SalvagedRecord } from "./salvage.ts";
import type { OutboxParts } from "./sqlite-layout.ts";

/**
 * Writes salvaged heads, records (re-linked and checked: relink) and gaps into the fresh file:
 * seqs and links continue. Returns the rows carried over.
 */
export function restoreSalvage(ob: OutboxParts, s: Salvage): number {
  let restored = 0;
  ob.db.transaction(() => {
    const sids = new Map<string, number>();
    const heads = new Map(s.heads.map((h) => [h.stream, h]));
    const ids = (table: "boots" | "kinds", col: string) => {
      const known = new Map<string, number>();
      const ins = ob.db.prepare(`INSERT INTO ${table}(${col}) VALUES (?)`);
      return (name: string) => {
        let id = known.get(name);
        if (id === undefined) {
          id = Number(ins.run(name).lastInsertRowid);
          known.set(name, id);
        }
        return id;
      };
    };
    const bid = ids("boots", "boot");
    const kid = ids("kinds", "kind");
    const put = (r: SalvagedRecord, prev: Buffer | null, hash: Buffer) => {
      let sid = sids.get(r.stream);
      if (sid === undefined) {
        sid = Number(ob.newStream.run(r.stream, hash, priorityOf(r.kind)).lastInsertRowid);
        sids.set(r.stream, sid);
      }
      ob.insert.run(
        sid,
        r.seq,
        kid(r.kind),
        r.t_wall,
        r.t_mono,
        bid(r.t_boot),
        r.t_synced,
        r.body,
        prev,
        hash,
        r.bytes,
      );
      restored++;
    };
    const { rows, top } = relink(ob.device, s);
    for (const { r, prev, hash } of rows) put(r, prev, hash);
    // Heads: the salvaged streams table, else the highest row carried over.
    for (const [name, t] of top) {
      const h = heads.get(name);
      if (!h || t.seq > h.lastSeq)
        heads.set(name, {
          stream: name,
          lastSeq: t.seq,
          lastHash: t.link,
          ackedSeq: h?.ackedSeq ?? 0,
          evicted: h?.evicted ?? 0,
          priority: t.priority,
        });
    }
    const upd = ob.db.prepare(
      "UPDATE streams SET last_seq=?, last_hash=?, acked_seq=?, evicted=?, priority=? WHERE stream=?",
    );
    const ins = ob.db.prepare(
      "INSERT INTO streams(stream, last_seq, last_hash, acked_seq, evicted, priority) VALUES (?,?,?,?,?,?)",
    );
    for (const h of heads.values()) {
      const args = [h.lastSeq, h.lastHash, h.ackedSeq, h.evicted, h.priority] as const;
      if (sids.has(h.stream)) upd.run(...args, h.stream);
      else ins.run(h.stream, ...args);
    }
    const gcols = ["stream", "from_seq", "to_seq", "reason", "prev", "hash", "priority", "count"];
    const g = ob.db.prepare(
      `INSERT OR IGNORE INTO gaps(${gcols.join(",")}) VALUES (${gcols.map(() => "?").join(",")})`,
    );
    for (const r of s.gaps) g.run(...gcols.map((c) => r[c] ?? null));
    ob.db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('recovered', ?)").run(s.quarantined);
  })();
  return restored;
}

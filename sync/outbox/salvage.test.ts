import { closeSync, existsSync, openSync, readdirSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tmpDir } from "../../test/helpers/services.ts";
import { genesis, link, linkFromColumns, verifyRun } from "../chain.ts";
import { columnRecords } from "../codec.ts";
import { relink, type Salvage, type SalvagedRecord } from "./salvage.ts";
import { SqliteOutbox } from "./sqlite-outbox.ts";

const t = (i: number) => ({ wall: 1_700_000_000_000 + i, boot: "b", mono: i, synced: true });
const reading = (i: number, stream = "env.temperature") => ({
  stream,
  kind: "reading",
  body: { value: i, unit: "degC", quality: "ok" as const },
  t: t(i),
});

function scribble(path: string, at: number, len: number) {
  const fd = openSync(path, "r+");
  writeSync(fd, Buffer.alloc(len, 0xa5), 0, len, at);
  closeSync(fd);
}

function filled(n: number) {
  const dir = tmpDir();
  const path = join(dir, "outbox.db");
  const ob = new SqliteOutbox(path, "barn-1");
  for (let i = 0; i < n; i += 500)
    ob.append(
      Array.from({ length: 500 }, (_, k) => reading(i + k + 1)).concat([reading(i + 1, "env.humidity")]),
    );
  const heads = ob.heads();
  // Fold the WAL into the main file so scribbling on it hits real pages.
  ob.db.pragma("wal_checkpoint(TRUNCATE)");
  ob.close();
  return { dir, path, heads };
}

describe("a corrupt outbox", () => {
  it("is quarantined (never deleted), readable rows and heads salvaged, seqs and chains continue", () => {
    const { dir, path, heads } = filled(5000);
    const size = statSync(path).size;
    // Damage pages in the middle of the records table.
    scribble(path, Math.floor(size / 2), 8192);
    const ob = new SqliteOutbox(path, "barn-1");
    expect(ob.recovery).toBeDefined();
    expect(existsSync(ob.recovery!.quarantined)).toBe(true);
    expect(readdirSync(dir).some((f) => f.includes(".corrupt-"))).toBe(true);
    expect(ob.recovery!.records).toBeGreaterThan(1000);
    // Heads continue: the next append gets the next seq and chains from the old head.
    const before = heads.find((h) => h.stream === "env.temperature")!;
    const ref = ob.append([reading(5001)])[0]!;
    expect(ref.seq).toBe(before.seq + 1);
    // ...and its link follows from the old head's.
    const { kind, body, t: time } = reading(5001);
    const expected = link(before.hash, {
      device: "barn-1",
      stream: "env.temperature",
      seq: ref.seq,
      kind,
      body,
      t: time,
    });
    expect(ref.hash.equals(expected)).toBe(true);
    // Every salvaged run still chains: its prev and the records give its last link.
    for (const run of ob.pending({ maxRecords: 100_000, maxBytes: 1e9 }, new Map())) {
      if (run.type !== "records") continue;
      const recs = columnRecords(run.columns).map((r, k) => ({
        device: "barn-1",
        stream: run.stream,
        seq: run.first + k,
        ...r,
      }));
      expect(verifyRun(run.prev, recs, run.hash).ok).toBe(true);
    }
    ob.close();
  });

  it("whose header is destroyed (SQLITE_NOTADB) is quarantined and a fresh outbox starts", () => {
    const { path } = filled(500);
    scribble(path, 0, 100);
    const ob = new SqliteOutbox(path, "barn-1");
    expect(ob.recovery?.errors.length).toBeGreaterThan(0);
    expect(existsSync(ob.recovery!.quarantined)).toBe(true);
    expect(ob.append([reading(1)])[0]!.seq).toBeGreaterThan(0);
    ob.close();
  });

  it("re-links salvaged rows and leaves out those that disagree with a stored link", () => {
    // 20 rows of one stream as layout 3 stores them: prev on 1 and 11 (the first of two appends),
    // a link on 10 and 20 (their last rows). Row 5's body was altered on disk.
    const rows: SalvagedRecord[] = [];
    let h = genesis("barn-1", "s");
    for (let seq = 1; seq <= 20; seq++) {
      const body = `{"unit":"degC","value":${seq}}`;
      const next = linkFromColumns(h, "barn-1", "s", seq, "reading", body, 1000 + seq, "b", seq, true);
      rows.push({
        stream: "s",
        seq,
        kind: "reading",
        t_wall: 1000 + seq,
        t_boot: "b",
        t_mono: seq,
        t_synced: 1,
        body: seq === 5 ? `{"unit":"degC","value":55}` : body,
        prev: seq === 1 || seq === 11 ? h : null,
        hash: seq === 10 || seq === 20 ? next : null,
        bytes: 90,
      });
      h = next;
    }
    const s: Salvage = { quarantined: "q", heads: [], records: rows, gaps: [], errors: [] };
    const { rows: kept, top } = relink("barn-1", s);
    // 1..10 cannot be trusted (the link stored at 10 does not follow from them); 11..20 chain.
    expect(kept.map((k) => k.r.seq)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(kept[0]!.prev).toEqual(rows[10]!.prev);
    expect(kept.slice(1).every((k) => k.prev === null)).toBe(true);
    expect(top.get("s")).toMatchObject({ seq: 20, link: h });
    expect(s.errors).toEqual(["10 record(s) did not match the links stored after them"]);
  });
});

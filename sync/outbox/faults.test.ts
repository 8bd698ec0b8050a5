import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tmpDir } from "../../test/helpers/services.ts";
import { verifyRun } from "../chain.ts";
import { columnRecords } from "../codec.ts";
import { SqliteOutbox } from "./sqlite-outbox.ts";
import type { Outbox } from "./types.ts";

/**
 * Every outbox fault the agent must survive (issue #15, item 6): the file is quarantined (never
 * deleted), what SQLite can still read is salvaged, seqs and chains continue where they can.
 */
const t = (i: number) => ({ wall: 1_700_000_000_000 + i, boot: "b", mono: i, synced: true });
const reading = (i: number, stream = "env.temperature") => ({
  stream,
  kind: "reading",
  body: { value: i, unit: "degC", quality: "ok" as const },
  t: t(i),
});

function filled(n: number) {
  const dir = tmpDir();
  const path = join(dir, "outbox.db");
  const ob = new SqliteOutbox(path, "barn-1");
  for (let i = 0; i < n; i += 500)
    ob.append(
      Array.from({ length: 500 }, (_, k) => reading(i + k + 1)).concat([reading(i + 1, "env.humidity")]),
    );
  const heads = ob.heads();
  ob.db.pragma("wal_checkpoint(TRUNCATE)");
  ob.close();
  return { dir, path, heads };
}

function chainsHold(ob: Outbox) {
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
}

describe("outbox faults", () => {
  it("a zero-length file is quarantined (kept), reported as empty with no heads", () => {
    const dir = tmpDir();
    const path = join(dir, "outbox.db");
    closeSync(openSync(path, "w"));
    const ob = new SqliteOutbox(path, "barn-1");
    expect(ob.recovery).toMatchObject({ why: "empty", heads: 0, records: 0 });
    expect(existsSync(ob.recovery!.quarantined)).toBe(true);
    expect(readdirSync(dir).some((f) => f.includes(".empty-"))).toBe(true);
    expect(ob.append([reading(1)])[0]!.seq).toBe(1);
    ob.close();
    // Reopened, the fresh file is healthy: no second recovery.
    const again = new SqliteOutbox(path, "barn-1");
    expect(again.recovery).toBeUndefined();
    again.close();
  });

  it("a truncated file is quarantined and its readable records salvaged, chains intact", () => {
    const { path, heads } = filled(5000);
    truncateSync(path, Math.floor(statSync(path).size * 0.6));
    const ob = new SqliteOutbox(path, "barn-1");
    expect(ob.recovery?.why).toBe("corrupt");
    expect(existsSync(ob.recovery!.quarantined)).toBe(true);
    expect(ob.recovery!.records).toBeGreaterThan(1000);
    chainsHold(ob);
    // Seqs never go back: the next record follows the highest seq known.
    const before = heads.find((h) => h.stream === "env.temperature")!;
    expect(ob.append([reading(9999)])[0]!.seq).toBeGreaterThan(ob.recovery!.heads > 0 ? before.seq : 1000);
    ob.close();
  });

  it("a file whose header is destroyed is quarantined and salvaged by repairing the header", () => {
    const { path, heads } = filled(5000);
    const fd = openSync(path, "r+");
    writeSync(fd, Buffer.alloc(100, 0xa5), 0, 100, 0);
    closeSync(fd);
    const ob = new SqliteOutbox(path, "barn-1");
    expect(ob.recovery?.why).toBe("corrupt");
    expect(existsSync(ob.recovery!.quarantined)).toBe(true);
    expect(ob.recovery!.records).toBe(5000 + 10);
    expect(ob.recovery!.heads).toBe(2);
    const before = heads.find((h) => h.stream === "env.temperature")!;
    expect(ob.append([reading(5001)])[0]!.seq).toBe(before.seq + 1);
    chainsHold(ob);
    ob.close();
  });

  it("a lost outbox opens the next generation: unsalvaged streams restart at seq 1 as name#gN, declared", () => {
    const dir = tmpDir();
    const path = join(dir, "outbox.db");
    const first = new SqliteOutbox(path, "barn-1");
    first.append([reading(1), reading(2)]);
    first.close();
    truncateSync(path, 0);
    const g1 = new SqliteOutbox(path, "barn-1");
    expect(g1.recovery).toMatchObject({ why: "empty", generation: 1, salvagedHeads: [] });
    expect(g1.append([reading(3)])[0]).toMatchObject({ stream: "env.temperature#g1", seq: 1 });
    g1.close();
    // Reopened healthy: the stream goes on under its generation's name.
    const again = new SqliteOutbox(path, "barn-1");
    expect(again.recovery).toBeUndefined();
    expect(again.append([reading(4)])[0]).toMatchObject({ stream: "env.temperature#g1", seq: 2 });
    again.close();
    // A second loss: generation 2, from the side file even though the outbox kept nothing.
    truncateSync(path, 0);
    const g2 = new SqliteOutbox(path, "barn-1");
    expect(g2.recovery).toMatchObject({ generation: 2 });
    expect(g2.append([reading(5)])[0]).toMatchObject({ stream: "env.temperature#g2", seq: 1 });
    g2.close();
    // Nothing deleted: both quarantined files are kept.
    expect(readdirSync(dir).filter((f) => f.includes(".empty-"))).toHaveLength(2);
    // An outbox deleted by hand after a restart: the side file says a generation existed, so the new
    // file opens the next one rather than reuse generation 2's seqs.
    for (const f of readdirSync(dir))
      if (f === "outbox.db" || f.startsWith("outbox.db-")) rmSync(join(dir, f));
    const g3 = new SqliteOutbox(path, "barn-1");
    expect(g3.append([reading(6)])[0]).toMatchObject({ stream: "env.temperature#g3", seq: 1 });
    g3.close();
    const g3again = new SqliteOutbox(path, "barn-1");
    expect(g3again.append([reading(7)])[0]).toMatchObject({ stream: "env.temperature#g3", seq: 2 });
    g3again.close();
  });

  it("streams whose heads were salvaged keep their names and seqs; new ones start in the generation", () => {
    const { path, heads } = filled(1000);
    const fd = openSync(path, "r+");
    writeSync(fd, Buffer.alloc(100, 0xa5), 0, 100, 0);
    closeSync(fd);
    const ob = new SqliteOutbox(path, "barn-1");
    expect(ob.recovery).toMatchObject({ why: "corrupt", generation: 1 });
    const before = heads.find((h) => h.stream === "env.temperature")!;
    expect(ob.recovery!.salvagedHeads).toContainEqual({
      stream: "env.temperature",
      seq: before.seq,
      hash: before.hash.toString("hex"),
    });
    const [a, b] = ob.append([reading(1001), reading(1, "env.co2")]);
    expect(a).toMatchObject({ stream: "env.temperature", seq: before.seq + 1 });
    expect(b).toMatchObject({ stream: "env.co2#g1", seq: 1 });
    chainsHold(ob);
    ob.close();
  });
});

import { existsSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../core/canonical.ts";
import { tmpDir } from "../../test/helpers/services.ts";
import { genesis, link, verifyRun } from "../chain.ts";
import { columnRecords } from "../codec.ts";
import { readOutboxStatus } from "./read-status.ts";
import { OUTBOX_LAYOUT, SqliteOutbox, type StorageEvent } from "./sqlite-outbox.ts";

const t = (i: number) => ({ wall: 1_700_000_000_000 + i, boot: "b", mono: i, synced: true });
const reading = (i: number, stream = "env.temperature") => ({
  stream,
  kind: "reading",
  body: { value: i, unit: "degC" },
  t: t(i),
});

describe("SQLite outbox", () => {
  it("appends gapless seqs per stream with a hash chain from genesis", () => {
    const ob = new SqliteOutbox(join(tmpDir(), "o.db"), "barn-1");
    const refs = ob.append([reading(1), reading(2), reading(3, "env.humidity")]);
    expect(refs.map((r) => [r.stream, r.seq])).toEqual([
      ["env.temperature", 1],
      ["env.temperature", 2],
      ["env.humidity", 1],
    ]);
    const { kind, body, t: time } = reading(1);
    const h1 = link(genesis("barn-1", "env.temperature"), {
      device: "barn-1",
      stream: "env.temperature",
      seq: 1,
      kind,
      body,
      t: time,
    });
    expect(refs[0]!.hash.equals(h1)).toBe(true);
    ob.close();
  });

  it("keeps seqs and chain across reopen (restart)", () => {
    const path = join(tmpDir(), "o.db");
    const a = new SqliteOutbox(path, "barn-1");
    const r1 = a.append([reading(1), reading(2)]);
    a.close();
    const b = new SqliteOutbox(path, "barn-1");
    const r2 = b.append([reading(3)]);
    expect(r2[0]!.seq).toBe(3);
    const items = b.pending({ maxRecords: 10, maxBytes: 1e6 }, new Map());
    expect(items).toHaveLength(1);
    const run = items[0]!;
    if (run.type !== "records") throw new Error("records expected");
    expect(run.first).toBe(1);
    expect(run.last).toBe(3);
    expect(run.prev.equals(genesis("barn-1", "env.temperature"))).toBe(true);
    expect(run.hash.equals(r2[0]!.hash)).toBe(true);
    expect(r1[1]!.hash.equals(run.hash)).toBe(false);
    b.close();
  });

  it("refuses a body that does not match its kind, storing nothing of the call", () => {
    const ob = new SqliteOutbox(join(tmpDir(), "o.db"), "barn-1");
    expect(() => ob.append([reading(1), { ...reading(2), body: { value: "x", unit: "degC" } }])).toThrow(
      /value/,
    );
    expect(() => ob.append([{ ...reading(1), kind: "nope" }])).toThrow(/unknown record kind/);
    expect(ob.status()).toEqual([]);
    ob.close();
  });

  it("deletes only what an ack names with the link it holds", () => {
    const ob = new SqliteOutbox(join(tmpDir(), "o.db"), "barn-1");
    const refs = ob.append([reading(1), reading(2), reading(3)]);
    expect(ob.acknowledge("env.temperature", 1, 2, Buffer.alloc(32))).toBe(-1);
    expect(ob.status()[0]!.pending).toBe(3);
    expect(ob.acknowledge("env.temperature", 1, 2, refs[1]!.hash)).toBe(2);
    expect(ob.acknowledge("env.temperature", 1, 2, refs[1]!.hash)).toBe(0);
    const s = ob.status()[0]!;
    expect(s).toMatchObject({ lastSeq: 3, ackedSeq: 2, pending: 1 });
    ob.close();
  });

  it("sends alarms and evidence before telemetry and honours cursors and limits", () => {
    const ob = new SqliteOutbox(join(tmpDir(), "o.db"), "barn-1");
    ob.append(Array.from({ length: 5 }, (_, i) => reading(i)));
    ob.append([
      {
        stream: "alarms",
        kind: "alarm",
        body: { code: "x", severity: "critical", subject: "s", active: true, message: "m" },
        t: t(9),
      },
    ]);
    const items = ob.pending({ maxRecords: 3, maxBytes: 1e6 }, new Map());
    expect(items[0]!.stream).toBe("alarms");
    expect(items.reduce((n, i) => n + (i.type === "records" ? i.columns.body.length : 0), 0)).toBe(3);
    const next = ob.pending(
      { maxRecords: 10, maxBytes: 1e6 },
      new Map([
        ["alarms", 1],
        ["env.temperature", 2],
      ]),
    );
    expect(next).toHaveLength(1);
    expect(next[0]).toMatchObject({ stream: "env.temperature", first: 3, last: 5 });
    ob.close();
  });

  it("refuses an outbox file that belongs to another device", () => {
    const path = join(tmpDir(), "o.db");
    new SqliteOutbox(path, "barn-1").close();
    expect(() => new SqliteOutbox(path, "barn-2")).toThrow(/belongs to device 'barn-1'/);
  });
});

describe("SQLite outbox layout 3 (links stored sparsely, names numbered)", () => {
  const runsVerify = (ob: SqliteOutbox, after = new Map<string, number>()) => {
    const items = ob.pending({ maxRecords: 100_000, maxBytes: 1e9 }, after);
    for (const run of items) {
      if (run.type !== "records") continue;
      const records = columnRecords(run.columns).map((r, k) => ({
        device: "barn-1",
        stream: run.stream,
        seq: run.first + k,
        ...r,
      }));
      expect(verifyRun(run.prev, records, run.hash).ok).toBe(true);
    }
    return items;
  };

  it("gives every run its true prev after out-of-order acks, mid-call starts and a reopen", () => {
    const path = join(tmpDir(), "o.db");
    const ob = new SqliteOutbox(path, "barn-1");
    const refs: Array<{ seq: number; hash: Buffer }> = [];
    for (let i = 0; i < 30; i += 10)
      refs.push(...ob.append(Array.from({ length: 10 }, (_, k) => reading(i + k + 1))));
    // Ack 13..17 first (out of order, mid-call): the run from 18 must chain from the link at 17.
    expect(ob.acknowledge("env.temperature", 13, 17, refs[16]!.hash)).toBe(5);
    const items = runsVerify(ob);
    expect(items.map((i) => (i.type === "records" ? [i.first, i.last] : []))).toEqual([
      [1, 12],
      [18, 30],
    ]);
    expect(items[1]!.prev.equals(refs[16]!.hash)).toBe(true);
    // A run that starts mid-call because earlier rows are in flight.
    const mid = runsVerify(ob, new Map([["env.temperature", 20]]));
    expect(mid[0]!.prev.equals(refs[19]!.hash)).toBe(true);
    // Ack everything, then append again: the next run chains from the last acked link.
    expect(ob.acknowledge("env.temperature", 1, 12, refs[11]!.hash)).toBe(12);
    expect(ob.acknowledge("env.temperature", 18, 30, refs[29]!.hash)).toBe(13);
    ob.close();
    const again = new SqliteOutbox(path, "barn-1");
    again.append([reading(31), reading(32)]);
    const next = runsVerify(again);
    expect(next[0]!.prev.equals(refs[29]!.hash)).toBe(true);
    expect(again.status()[0]).toMatchObject({ lastSeq: 32, ackedSeq: 30, pending: 2 });
    again.close();
  });

  it("moves a layout-1 file aside and carries its rows, seqs and links into a fresh file of the current layout", () => {
    const path = join(tmpDir(), "outbox.db");
    // Seqs 1..2 acked; 3..4 pending, each row with its own prev (layout 1).
    const hashes = writeOldOutbox(path, 1, { acked: 2, last: 4, prevOn: () => true });
    const ob = new SqliteOutbox(path, "barn-1");
    expect(ob.recovery?.quarantined).toContain(".old-layout-");
    expect(existsSync(ob.recovery!.quarantined)).toBe(true);
    expect(ob.db.pragma("user_version", { simple: true })).toBe(OUTBOX_LAYOUT);
    expect(ob.status()[0]).toMatchObject({ lastSeq: 4, ackedSeq: 2, pending: 2 });
    expect(ob.append([reading(5)])[0]!.seq).toBe(5);
    const items = runsVerify(ob);
    expect(items[0]).toMatchObject({ first: 3, last: 5 });
    expect(items[0]!.prev.equals(hashes[1]!)).toBe(true);
    ob.close();
  });

  it("stores a link only at each call's end and where rows may go, yet gives every run its true ends", () => {
    const ob = new SqliteOutbox(join(tmpDir(), "o.db"), "barn-1");
    const refs = ob.append(Array.from({ length: 300 }, (_, k) => reading(k + 1)));
    refs.push(...ob.append(Array.from({ length: 5 }, (_, k) => reading(301 + k))));
    // What `barnlink status` reads from the file while the agent runs is what the outbox holds.
    const { pendingBytes, ...counts } = ob.status()[0]!;
    expect(readOutboxStatus(ob.path).streams).toEqual([{ ...counts, pendingBytes }]);
    const stored = ob.db.prepare("SELECT seq FROM records WHERE hash IS NOT NULL").pluck().all();
    expect(stored).toEqual([300, 305]);
    const prevs = ob.db.prepare("SELECT seq FROM records WHERE prev IS NOT NULL").pluck().all();
    // Prev on seq 1 (nothing before it) and every 64th; 301 chains from the link stored at 300.
    expect(prevs).toEqual([1, 64, 128, 192, 256]);
    // Drain in batches whose ends fall anywhere: each run's prev and head are the true links.
    for (const size of [7, 63, 64, 65, 100, 299]) {
      const cursor = new Map<string, number>();
      for (let n = 0; n < 305; ) {
        const [run] = ob.pending({ maxRecords: size, maxBytes: 1e9 }, cursor);
        if (run?.type !== "records") throw new Error("records expected");
        expect(
          run.prev.equals(run.first === 1 ? genesis("barn-1", run.stream) : refs[run.first - 2]!.hash),
        ).toBe(true);
        expect(run.hash.equals(refs[run.last - 1]!.hash)).toBe(true);
        cursor.set(run.stream, run.last);
        n = run.last;
      }
    }
    ob.close();
  });

  it("a row appended after its predecessor was acked stores its own prev; one after a stored row does not", () => {
    const ob = new SqliteOutbox(join(tmpDir(), "o.db"), "barn-1");
    const refs = ob.append([reading(1), reading(2)]);
    refs.push(...ob.append([reading(3)]));
    expect(ob.acknowledge("env.temperature", 1, 3, refs[2]!.hash)).toBe(3);
    refs.push(...ob.append([reading(4)]), ...ob.append([reading(5)]));
    const prevs = ob.db.prepare("SELECT seq FROM records WHERE prev IS NOT NULL").pluck().all();
    expect(prevs).toEqual([4]);
    const [run] = runsVerify(ob);
    expect(run).toMatchObject({ first: 4, last: 5 });
    expect(run!.prev.equals(refs[2]!.hash)).toBe(true);
    ob.close();
  });

  it("checks recomputed links against the next stored one: a row altered on disk holds its stream", () => {
    const events: StorageEvent[] = [];
    const ob = new SqliteOutbox(join(tmpDir(), "o.db"), "barn-1", { onStorage: (e) => events.push(e) });
    ob.append(Array.from({ length: 300 }, (_, k) => reading(k + 1)).concat([reading(1, "env.humidity")]));
    const alter = (seq: number) =>
      ob.db
        .prepare(
          "UPDATE records SET body = ? WHERE seq = ? AND sid = (SELECT sid FROM streams WHERE stream = 'env.temperature')",
        )
        .run('{"unit":"degC","value":99}', seq);
    // Outside any recomputed stretch the stored links still bind the run: the head the agent signs
    // no longer matches the rows, so the cloud (verifyRun) refuses them.
    alter(150);
    const [whole] = ob.pending({ maxRecords: 1000, maxBytes: 1e9 }, new Map([["env.humidity", 1]]));
    if (whole?.type !== "records") throw new Error("records expected");
    const recs = columnRecords(whole.columns).map((r, k) => ({
      device: "barn-1",
      stream: whole.stream,
      seq: k + 1,
      ...r,
    }));
    expect(verifyRun(whole.prev, recs, whole.hash).ok).toBe(false);
    expect(events).toEqual([]);
    // A batch ending at 260 recomputes the link there from the one stored at 256 and checks it up
    // to the head at 300: the altered row 290 is found, the stream is held, nothing of it is sent.
    alter(290);
    const items = ob.pending({ maxRecords: 260, maxBytes: 1e9 }, new Map());
    expect(items.map((i) => i.stream)).toEqual(["env.humidity"]);
    expect(events).toEqual([
      { type: "damaged", stream: "env.temperature", message: expect.stringMatching(/do not match/) },
    ]);
    expect(ob.status().find((s) => s.stream === "env.temperature")?.damaged).toMatch(/do not match/);
    // It stays held (reported once), and its rows stay on disk for inspection.
    expect(ob.pending({ maxRecords: 1000, maxBytes: 1e9 }, new Map()).map((i) => i.stream)).toEqual([
      "env.humidity",
    ]);
    expect(events).toHaveLength(1);
    expect(ob.status().find((s) => s.stream === "env.temperature")?.pending).toBe(300);
    ob.close();
  });

  it("re-checks a refused range row by row: an alteration no recomputed stretch covered is found", () => {
    const events: StorageEvent[] = [];
    const ob = new SqliteOutbox(join(tmpDir(), "o.db"), "barn-1", { onStorage: (e) => events.push(e) });
    ob.append(Array.from({ length: 300 }, (_, k) => reading(k + 1)));
    expect(ob.check("env.temperature", 1, 300)).toBe(true);
    expect(ob.check("env.temperature", 17, 250)).toBe(true);
    ob.db
      .prepare(
        "UPDATE records SET body = ? WHERE seq = 150 AND sid = (SELECT sid FROM streams WHERE stream = 'env.temperature')",
      )
      .run('{"unit":"degC","value":99}');
    // The run's ends are stored links: pending() alone cannot see it (the cloud refuses the batch).
    expect(ob.pending({ maxRecords: 1000, maxBytes: 1e9 }, new Map())).toHaveLength(1);
    expect(ob.check("env.temperature", 193, 300)).toBe(true);
    expect(ob.check("env.temperature", 1, 300)).toBe(false);
    expect(events).toEqual([
      {
        type: "damaged",
        stream: "env.temperature",
        message: expect.stringMatching(/records 1\.\.192 do not match the link stored at 192/),
      },
    ]);
    expect(ob.pending({ maxRecords: 1000, maxBytes: 1e9 }, new Map())).toEqual([]);
    ob.close();
  });

  it("refuses a capture time that is not exactly {wall, boot, mono, synced} in integer ms", () => {
    const ob = new SqliteOutbox(join(tmpDir(), "o.db"), "barn-1");
    const bad = [
      { ...reading(1), t: { ...t(1), synced: 1 } },
      { ...reading(1), t: { ...t(1), wall: Number.NaN } },
      { ...reading(1), t: { ...t(1), mono: 1.5 } },
      { ...reading(1), t: { ...t(1), boot: 7 } },
      { ...reading(1), t: undefined },
    ];
    for (const b of bad) expect(() => ob.append([b as never])).toThrow(/capture time must be/);
    expect(ob.status()).toEqual([]);
    ob.close();
  });

  it("carries a layout-2 file (prev only where needed, a link on every row) over", () => {
    const path = join(tmpDir(), "outbox.db");
    // Seqs 1..10 acked and gone; 11 (after the acked range) and 64 keep their prev.
    const hashes = writeOldOutbox(path, 2, {
      acked: 10,
      last: 100,
      prevOn: (seq) => seq === 11 || seq === 64,
    });
    const ob = new SqliteOutbox(path, "barn-1");
    expect(ob.recovery?.quarantined).toContain(".old-layout-");
    expect(ob.recovery?.errors).toEqual([]);
    expect(ob.recovery?.records).toBe(90);
    expect(ob.status()[0]).toMatchObject({ lastSeq: 100, ackedSeq: 10, pending: 90 });
    expect(ob.append([reading(101)])[0]!.seq).toBe(101);
    const items = runsVerify(ob);
    expect(items[0]).toMatchObject({ first: 11, last: 101 });
    expect(items[0]!.prev.equals(hashes[9]!)).toBe(true);
    ob.close();
  });

  it("refuses a file of a newer layout", () => {
    const path = join(tmpDir(), "o.db");
    new SqliteOutbox(path, "barn-1").close();
    const db = new Database(path);
    db.pragma(`user_version = ${OUTBOX_LAYOUT + 1}`);
    db.close();
    expect(() => new SqliteOutbox(path, "barn-1")).toThrow(new RegExp(`layout ${OUTBOX_LAYOUT + 1}`));
  });
});

/**
 * Writes an outbox file of an older layout (1: a prev on every row and a priority index; 2: prev
 * nullable) for env.temperature seqs acked+1..last, and returns every link 1..last.
 */
function writeOldOutbox(
  path: string,
  layout: 1 | 2,
  o: { acked: number; last: number; prevOn: (seq: number) => boolean },
): Buffer[] {
  const old = new Database(path);
  old.exec(`CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE streams(stream TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, last_hash BLOB NOT NULL,
      acked_seq INTEGER NOT NULL DEFAULT 0, evicted INTEGER NOT NULL DEFAULT 0, priority INTEGER NOT NULL);
    CREATE TABLE records(stream TEXT NOT NULL, seq INTEGER NOT NULL, priority INTEGER NOT NULL, kind TEXT NOT NULL,
      t_wall INTEGER NOT NULL, t_boot TEXT NOT NULL, t_mono INTEGER NOT NULL, t_synced INTEGER NOT NULL,
      body TEXT NOT NULL, prev BLOB ${layout === 1 ? "NOT NULL" : ""}, hash BLOB NOT NULL, bytes INTEGER NOT NULL,
      PRIMARY KEY(stream, seq)) WITHOUT ROWID;
    ${layout === 1 ? "CREATE INDEX records_priority ON records(priority, stream, seq);" : ""}
    CREATE TABLE gaps(stream TEXT NOT NULL, from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL, reason TEXT NOT NULL,
      prev BLOB NOT NULL, hash BLOB NOT NULL, priority INTEGER NOT NULL, count INTEGER, PRIMARY KEY(stream, from_seq));
    CREATE TABLE commands(id TEXT PRIMARY KEY, at INTEGER NOT NULL);
    ${layout === 2 ? "PRAGMA user_version = 2;" : ""}`);
  old.prepare("INSERT INTO meta VALUES ('device', 'barn-1')").run();
  const ins = old.prepare("INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
  let h = genesis("barn-1", "env.temperature");
  const hashes: Buffer[] = [];
  for (let seq = 1; seq <= o.last; seq++) {
    const r = reading(seq);
    const next = link(h, { device: "barn-1", stream: r.stream, seq, t: r.t, kind: r.kind, body: r.body });
    if (seq > o.acked) {
      const prev = o.prevOn(seq) ? h : null;
      ins.run(
        r.stream,
        seq,
        2,
        r.kind,
        r.t.wall,
        r.t.boot,
        r.t.mono,
        1,
        canonicalJson(r.body),
        prev,
        next,
        70,
      );
    }
    hashes.push(next);
    h = next;
  }
  old.prepare("INSERT INTO streams VALUES ('env.temperature', ?, ?, ?, 0, 2)").run(o.last, h, o.acked);
  old.close();
  return hashes;
}

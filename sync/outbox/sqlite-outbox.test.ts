import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tmpDir } from "../../test/helpers/services.ts";
import { genesis, link } from "../chain.ts";
import { SqliteOutbox } from "./sqlite-outbox.ts";

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
    expect(items.reduce((n, i) => n + (i.type === "records" ? i.records.length : 0), 0)).toBe(3);
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

import { describe, expect, it } from "vitest";
import { isCode } from "../../core/errors.ts";
import { genesis, link, verifyRun } from "../chain.ts";
import { columnRecords } from "../codec.ts";
import type { Outbox, PendingItem, PendingRun } from "./types.ts";

/**
 * The contract every Outbox keeps (after Aedes's abstract persistence suite): run it against each
 * implementation with a factory that opens a fresh, empty outbox for device `barn-1`
 * (outbox-contract.test.ts runs it against the SQLite and the in-memory outbox).
 */
export function outboxContract(name: string, open: () => Outbox): void {
  const t = (i: number) => ({ wall: 1_700_000_000_000 + i, boot: "b", mono: i, synced: true });
  const reading = (i: number, stream = "env.temperature") => ({
    stream,
    kind: "reading",
    body: { value: i, unit: "degC" },
    t: t(i),
  });
  const alarm = (i: number) => ({
    stream: "alarms",
    kind: "alarm",
    body: { code: "x", severity: "warning", subject: "s", active: true, message: "m" },
    t: t(i),
  });
  const runs = (items: PendingItem[]) => items.filter((i): i is PendingRun => i.type === "records");
  const all = { maxRecords: 10_000, maxBytes: 1e9 };

  describe(`Outbox contract: ${name}`, () => {
    it("gives gapless seqs per stream, chained from the stream's genesis", () => {
      const ob = open();
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
      expect(ob.append([])).toEqual([]);
      ob.close();
    });

    it("hands out pending runs whose records chain from prev to hash, the most urgent class first", () => {
      const ob = open();
      ob.append([reading(1), reading(2)]);
      ob.append([alarm(3)]);
      const refs = ob.append([reading(4)]);
      const rs = runs(ob.pending(all, new Map()));
      expect(rs.map((r) => [r.stream, r.first, r.last])).toEqual([
        ["alarms", 1, 1],
        ["env.temperature", 1, 3],
      ]);
      const temp = rs[1]!;
      expect(temp.prev.equals(genesis("barn-1", "env.temperature"))).toBe(true);
      expect(temp.hash.equals(refs[0]!.hash)).toBe(true);
      const records = columnRecords(temp.columns).map((r, i) => ({
        ...r,
        device: "barn-1",
        stream: "env.temperature",
        seq: temp.first + i,
      }));
      expect(verifyRun(temp.prev, records, temp.hash).ok).toBe(true);
      ob.close();
    });

    it("skips what is already in flight and respects the batch limits", () => {
      const ob = open();
      ob.append(Array.from({ length: 10 }, (_, i) => reading(i + 1)));
      const after = runs(ob.pending(all, new Map([["env.temperature", 6]])));
      expect(after.map((r) => [r.first, r.last])).toEqual([[7, 10]]);
      const few = runs(ob.pending({ maxRecords: 3, maxBytes: 1e9 }, new Map()));
      expect(few.map((r) => [r.first, r.last])).toEqual([[1, 3]]);
      // A record bigger than maxBytes still goes alone, never stuck.
      const one = runs(ob.pending({ maxRecords: 100, maxBytes: 1 }, new Map()));
      expect(one.map((r) => [r.first, r.last])).toEqual([[1, 1]]);
      // Over the daily budget only alarms and evidence are asked for.
      expect(ob.pending({ ...all, maxPriority: 1 }, new Map())).toEqual([]);
      ob.close();
    });

    it("deletes exactly what an ack names with the link it holds; refuses other links", () => {
      const ob = open();
      const refs = ob.append(Array.from({ length: 5 }, (_, i) => reading(i + 1)));
      expect(ob.acknowledge("env.temperature", 1, 2, Buffer.alloc(32, 1))).toBe(-1);
      expect(ob.acknowledge("env.temperature", 1, 2, refs[1]!.hash)).toBe(2);
      // Again (a duplicate ack): nothing left to delete.
      expect(ob.acknowledge("env.temperature", 1, 2, refs[1]!.hash)).toBe(0);
      expect(ob.acknowledge("no.such", 1, 2, refs[1]!.hash)).toBe(0);
      // Out of order: 4..5 before 3.
      expect(ob.acknowledge("env.temperature", 4, 5, refs[4]!.hash)).toBe(2);
      const rest = runs(ob.pending(all, new Map()));
      expect(rest.map((r) => [r.first, r.last])).toEqual([[3, 3]]);
      expect(rest[0]!.prev.equals(refs[1]!.hash)).toBe(true);
      expect(rest[0]!.hash.equals(refs[2]!.hash)).toBe(true);
      const st = ob.status()[0]!;
      expect(st).toMatchObject({ stream: "env.temperature", lastSeq: 5, ackedSeq: 5, pending: 1 });
      expect(ob.check?.("env.temperature", 3, 3) ?? true).toBe(true);
      ob.close();
    });

    it("reports heads and status per stream, sorted by name", () => {
      const ob = open();
      const refs = ob.append([reading(1, "b.s"), reading(2, "a.s"), reading(3, "b.s")]);
      const heads = new Map(ob.heads().map((h) => [h.stream, h]));
      expect(heads.get("b.s")!.seq).toBe(2);
      expect(heads.get("b.s")!.hash.equals(refs[2]!.hash)).toBe(true);
      expect(ob.status().map((s) => [s.stream, s.lastSeq, s.pending])).toEqual([
        ["a.s", 1, 1],
        ["b.s", 2, 2],
      ]);
      expect(ob.status()[0]!.pendingBytes).toBeGreaterThan(0);
      ob.close();
    });

    it("refuses a bad capture time or body with BL_BAD_RECORD and stores none of the call", () => {
      const ob = open();
      const bad = { ...reading(2), t: { wall: 1.5, boot: "b", mono: 1, synced: true } };
      expect(() => ob.append([reading(1), bad])).toThrow(/capture time/);
      try {
        ob.append([{ ...reading(3), body: { value: "warm" } }]);
        expect.unreachable();
      } catch (e) {
        expect(isCode(e, "BL_BAD_RECORD")).toBe(true);
      }
      expect(ob.heads()).toEqual([]);
      expect(ob.append([reading(4)])[0]!.seq).toBe(1);
      ob.close();
    });

    it("sees a command id once", () => {
      const ob = open();
      expect(ob.firstSight("c1")).toBe(true);
      expect(ob.firstSight("c1")).toBe(false);
      expect(ob.firstSight("c2")).toBe(true);
      ob.close();
    });
  });
}

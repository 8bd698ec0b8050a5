import { describe, expect, it } from "vitest";
import { freshDb } from "../../test/helpers/services.ts";
import { uncommittedOf } from "./summary.ts";

describe("the demo summary's committed check", () => {
  it("counts the drained status's seqs the cloud has not committed, not extras appended after", async () => {
    const { db, drop } = await freshDb("sqlite");
    try {
      const row = (stream: string, committed: number, extra: object = {}) => ({
        device: "barn-1",
        stream,
        committed_seq: committed,
        max_seq: committed,
        count: committed,
        chain_ok: 1,
        chain_error: null,
        last_seen: 0,
        head_seq: null,
        head_hash: null,
        head_sig: null,
        generation: 0,
        seq_base: 0,
        ...extra,
      });
      await db.kysely
        .insertInto("streams")
        .values([row("env", 10), row("commands", 3), row("alarms", 107, { generation: 1, seq_base: 100 })])
        .execute();
      const status = (env: number, commands: number, alarms = 7) => ({
        link: { connected: true },
        streams: [
          { stream: "env", lastSeq: env, ackedSeq: env, pending: 0 },
          { stream: "commands", lastSeq: commands, ackedSeq: commands, pending: 0 },
          { stream: "alarms#g1", lastSeq: alarms, ackedSeq: alarms, pending: 0 },
        ],
      });
      // A command's receipt appended after the drain: committed (3) above the drained status (2).
      expect(await uncommittedOf(db, "barn-1", status(10, 2))).toBe(0);
      // Two env readings the cloud never committed; one alarm of the restarted generation missing.
      expect(await uncommittedOf(db, "barn-1", status(12, 3))).toBe(2);
      expect(await uncommittedOf(db, "barn-1", status(10, 3, 8))).toBe(1);
      // A stream the cloud has never seen: all of it is missing.
      expect(
        await uncommittedOf(db, "barn-1", {
          link: { connected: true },
          streams: [{ stream: "door", lastSeq: 4, ackedSeq: 0, pending: 4 }],
        }),
      ).toBe(4);
    } finally {
      await drop();
    }
  });
});

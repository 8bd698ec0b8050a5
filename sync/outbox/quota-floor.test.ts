import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { tmpDir } from "../../test/helpers/services.ts";
import { ERR_OUTBOX_FULL } from "../errors.ts";
import { SqliteOutbox } from "./sqlite-outbox.ts";

// The outbox's monotonic clock, moved by hand: the disk check is at most once a second of it.
const clock = vi.hoisted(() => ({ now: 1_000_000 }));
vi.mock("../../core/clock.ts", async (orig) => ({
  ...(await orig<typeof import("../../core/clock.ts")>()),
  monoMs: () => clock.now,
}));

const t = (i: number) => ({ wall: 1_700_000_000_000 + i, boot: "b", mono: i, synced: true });
const reading = (i: number) => ({
  stream: "env.t",
  kind: "reading",
  body: { value: i, unit: "degC" },
  t: t(i),
});
const census = (i: number) => ({
  stream: "census",
  kind: "census",
  body: { barn: "a", from: i, to: i + 1, count: 500, method: "manual" },
  t: t(i),
});
const alarm = {
  stream: "alarms",
  kind: "alarm",
  body: { code: "outbox.full", severity: "critical", subject: "outbox", active: true, message: "full" },
  t: t(1),
};
const refuses = (f: () => unknown) => {
  try {
    f();
    return false;
  } catch (e) {
    if (!ERR_OUTBOX_FULL.is(e)) throw e;
    return true;
  }
};

describe("the disk floor between disk checks (statfs and pragmas at most once a second)", () => {
  it("asks the disk once per second, yet refuses once what was stored since reaches the floor; alarms always go in", () => {
    let asked = 0;
    let free = 10e6 + 1500;
    const ob = new SqliteOutbox(join(tmpDir(), "o.db"), "barn-1", {
      minFreeDisk: 10e6,
      freeDisk: () => {
        asked++;
        return free;
      },
    });
    // The clock stands still: one disk check for the whole burst. 1.5 kB above the floor lasts a
    // dozen census rows (~125 bytes counted each); then evidence is refused (below the disk floor,
    // docs/durability.md), readings too, and alarms still go in.
    let stored = 0;
    while (stored < 40 && !refuses(() => ob.append([census(stored + 1)]))) stored++;
    expect(asked).toBe(1);
    expect(stored).toBeGreaterThan(1);
    expect(stored).toBeLessThan(20);
    expect(refuses(() => ob.append([reading(1)]))).toBe(true);
    expect(refuses(() => ob.append([alarm]))).toBe(false);
    expect(ob.status().find((s) => s.stream === "census")).toMatchObject({ lastSeq: stored });
    // A second later the disk is asked again: room was freed, readings and evidence go in again.
    free = 50e6;
    clock.now += 1001;
    expect(refuses(() => ob.append([reading(2), census(stored + 1)]))).toBe(false);
    expect(asked).toBe(2);
    ob.close();
  });

  it("is the plain per-append check when every append is a second apart", () => {
    let free = 10e6 + 1500;
    const ob = new SqliteOutbox(join(tmpDir(), "o.db"), "barn-1", {
      minFreeDisk: 10e6,
      freeDisk: () => free,
    });
    for (let i = 1; i <= 5; i++) {
      clock.now += 1001;
      free -= 100; // the disk itself fills slowly: the check sees it
      expect(refuses(() => ob.append([census(i)]))).toBe(false);
    }
    clock.now += 1001;
    free = 10e6 + 100; // the disk is nearly at the floor now: the next row would cross it
    expect(refuses(() => ob.append([census(6)]))).toBe(true);
    ob.close();
  });
});

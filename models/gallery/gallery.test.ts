import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { isCode } from "../../core/errors.ts";
import { rng } from "../synth/rng.ts";
import { tmpPath } from "../test-helpers.ts";
import { Gallery } from "./gallery.ts";
import { TemplateMatrix } from "./matrix.ts";

const DAY = 86_400_000;
const unit = (r: () => number, dim = 8) => {
  const v = Float32Array.from({ length: dim }, () => r() - 0.5);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const path = () => `${tmpPath("gallery")}.db`;

describe("TemplateMatrix", () => {
  it("returns the best template per pig, best pig first, like a brute-force search", () => {
    const r = rng(3);
    const m = new TemplateMatrix(8, 4);
    const all: [string, Float32Array][] = [];
    for (let i = 0; i < 300; i++) {
      const v = unit(r);
      m.add(`p${i % 37}`, v);
      all.push([`p${i % 37}`, v]);
    }
    for (let k = 0; k < 20; k++) {
      const q = unit(r);
      const best = new Map<string, number>();
      for (const [p, v] of all)
        best.set(
          p,
          Math.max(
            best.get(p) ?? -2,
            v.reduce((s, x, j) => s + x * q[j]!, 0),
          ),
        );
      const want = [...best.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3);
      const got = m.match(q, 3);
      expect(got.map((c) => c.pig)).toEqual(want.map((w) => w[0]));
      for (const [i, c] of got.entries()) expect(c.score).toBeCloseTo(want[i]![1], 5);
    }
  });
});

describe("Gallery", () => {
  it("caps templates per pig, dropping the oldest, and persists across reopen", () => {
    const p = path();
    const r = rng(1);
    const g = new Gallery(p, { dim: 8, modelVersion: "m1", maxTemplatesPerPig: 3 });
    g.enrol("a", [{ vec: unit(r) }, { vec: unit(r) }], "cli", 0);
    g.enrol("a", [{ vec: unit(r) }, { vec: unit(r) }], "cli", 10 * DAY);
    expect(g.templateCount).toBe(3);
    const ages = g.db.prepare("SELECT created_at AS t FROM templates ORDER BY t").all() as { t: number }[];
    expect(ages.map((a) => a.t)).toEqual([0, 10 * DAY, 10 * DAY]);
    g.close();
    const again = new Gallery(p, { dim: 8, modelVersion: "m1", maxTemplatesPerPig: 3 });
    expect(again.templateCount).toBe(3);
    expect(() => new Gallery(p, { dim: 16, modelVersion: "m2" })).toThrow(
      expect.objectContaining({ code: "BL_MODEL_GALLERY" }),
    );
    again.close();
  });

  it("refreshes from confident matches only when time has passed and the look is new", () => {
    const r = rng(2);
    const g = new Gallery(path(), { dim: 8, modelVersion: "m1", refreshEveryMs: DAY });
    const v = unit(r);
    g.enrol("a", [{ vec: v }], "cli", 0);
    expect(g.refresh("a", { vec: unit(r) }, 0.9, DAY / 2)).toBe(false);
    expect(g.refresh("a", { vec: v }, 0.99, 2 * DAY)).toBe(false);
    expect(g.refresh("a", { vec: unit(r) }, 0.9, 2 * DAY)).toBe(true);
    expect(g.templateCount).toBe(2);
  });

  it("lists pigs unseen since a cutoff and re-embeds templates from stored crops", () => {
    const r = rng(4);
    const g = new Gallery(path(), { dim: 8, modelVersion: "m1" });
    g.enrol("a", [{ vec: unit(r), crop: new Uint8Array([1, 2, 3]) }], "cli", 0);
    g.enrol("b", [{ vec: unit(r), crop: new Uint8Array([4, 5, 6]) }], "cli", 0);
    g.markSeen("a", 5 * DAY);
    expect(g.unseenSince(3 * DAY)).toEqual(["b"]);
    const fixed = Float32Array.from({ length: 8 }, (_, i) => (i === 0 ? 1 : 0));
    expect(g.reembed(() => fixed, "m2")).toBe(2);
    expect(g.templateModel).toBe("m2");
    expect(g.match(fixed, 2).map((c) => c.score)).toEqual([1, 1]);
    expect(isCode(new Error("x"), "BL_MODEL_GALLERY")).toBe(false);
  });

  it("writes last-seen times at most once a minute, all pending ones together, and never loses the newest", () => {
    const r = rng(5);
    const file = path();
    const g = new Gallery(file, { dim: 8, modelVersion: "m1" });
    g.enrol("a", [{ vec: unit(r) }], "cli", 0);
    g.enrol("b", [{ vec: unit(r) }], "cli", 0);
    const stored = () => {
      const db = new Database(file, { readonly: true });
      const rows = db.prepare("SELECT id, last_seen AS t FROM pigs").all() as {
        id: string;
        t: number | null;
      }[];
      db.close();
      return Object.fromEntries(rows.map((p) => [p.id, p.t]));
    };
    g.markSeen("a", 1000); // the first is written at once
    g.markSeen("a", 2000);
    g.markSeen("b", 30_000);
    expect(stored()).toEqual({ a: 1000, b: null }); // a commit per sighting before (issue #15)
    g.markSeen("a", 61_000); // a minute on: everything pending goes in one transaction
    expect(stored()).toEqual({ a: 61_000, b: 30_000 });
    g.markSeen("b", 70_000);
    expect(g.pigs().find((p) => p.id === "b")?.lastSeen).toBe(70_000); // read back: flushed first
    g.markSeen("a", 80_000);
    expect(g.unseenSince(75_000)).toEqual(["b"]);
    // the reads flushed without restarting the wait on another clock: a minute after the last
    // timed write (61 s, markSeen's clock), the next sighting writes again
    g.markSeen("b", 125_000);
    expect(stored()).toEqual({ a: 80_000, b: 125_000 });
    g.markSeen("b", 130_000);
    g.close();
    expect(stored()).toEqual({ a: 80_000, b: 130_000 }); // close writes what is pending
  });
});

import { describe, expect, it, vi } from "vitest";
import { main } from "./cli.ts";
import type { CommandSpec, LazyCommand } from "./cli-kit.ts";
import { commands } from "./commands/index.ts";

const lazyOnes = commands.filter((c): c is LazyCommand => "load" in c);

describe("lazy command list (agent/commands/index.ts)", () => {
  it("each line's name and summary are the command's own (the list is what --help prints)", async () => {
    expect(lazyOnes.length).toBeGreaterThan(10);
    for (const c of lazyOnes) {
      const loaded = await c.load();
      if (Array.isArray(loaded)) {
        expect(loaded.length, c.name).toBeGreaterThan(1);
        for (const sub of loaded) expect(sub.name.startsWith(`${c.name} `), sub.name).toBe(true);
      } else {
        expect(loaded.name).toBe(c.name);
        expect(loaded.summary).toBe(c.summary);
      }
    }
  }, 120_000);

  it("no two lines share a name", () => {
    const names = commands.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it("a group lists its commands on --help, and an unknown subcommand is exit 2", async () => {
    const outs: string[] = [];
    const keep = (s: unknown) => {
      outs.push(String(s));
      return true;
    };
    const w = vi.spyOn(process.stdout, "write").mockImplementation(keep);
    const e = vi.spyOn(process.stderr, "write").mockImplementation(keep);
    try {
      expect(await main(["model", "--help"], commands)).toBe(0);
      expect(outs.join("")).toMatch(/model train/);
      outs.length = 0;
      expect(await main(["model", "nope"], commands)).toBe(2);
      expect(outs.join("")).toMatch(/unknown command 'model nope'/);
      outs.length = 0;
      const eager: CommandSpec = { name: "x y", summary: "eager", usage: "x y", run: async () => 7 };
      expect(await main(["x", "y"], [eager])).toBe(7);
    } finally {
      w.mockRestore();
      e.mockRestore();
    }
  });
});

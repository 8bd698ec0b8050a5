import { describe, expect, it } from "vitest";
import type { Source, SourceContext } from "../types.ts";
import { LazySource } from "./lazy-source.ts";

/** A source stopped while its module is still being imported never starts afterwards (a demo stopped early). */
describe("LazySource", () => {
  it("stops a source still loading, and it never starts after the stop", async () => {
    let release!: () => void;
    const loaded = new Promise<void>((r) => {
      release = r;
    });
    const calls: string[] = [];
    const inner: Source = {
      name: "x",
      start: async () => void calls.push("start"),
      stop: async () => void calls.push("stop"),
    };
    const s = new LazySource("x", async () => {
      await loaded;
      return inner;
    });
    const started = s.start({} as SourceContext);
    const stopped = s.stop();
    release();
    await Promise.all([started, stopped]);
    expect(calls).toEqual(["stop"]);
  });

  it("starts and stops a loaded source once each", async () => {
    const calls: string[] = [];
    const s = new LazySource("y", async () => ({
      name: "y",
      start: async () => void calls.push("start"),
      stop: async () => void calls.push("stop"),
    }));
    await s.start({} as SourceContext);
    await s.stop();
    expect(calls).toEqual(["start", "stop"]);
  });
});

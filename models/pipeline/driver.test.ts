import { describe, expect, it, vi } from "vitest";
import { CameraHub } from "../../drivers/camera-types.ts";
import { kinds } from "../../sync/kinds.ts";
import { manualClock, recordingContext, tmpPath } from "../test-helpers.ts";
import { type FacesSource, facesDriver } from "./driver.ts";

describe("faces driver", () => {
  it("runs a synthetic feeder end to end: enrols the herd, emits valid sightings and a census", async () => {
    const clock = manualClock();
    const ctx = recordingContext(clock);
    const hub = new CameraHub();
    const config = facesDriver.configSchema.parse({
      driver: "faces",
      name: "faces-1",
      camera: "feeder-1",
      barn: "barn-b",
      rois: [{ left: 96, top: 40, width: 128, height: 128 }],
      gallery: `${tmpPath("gallery")}.db`,
      backend: "wasm",
      censusWindow: "1h",
      synthetic: { pigs: 5, strangers: 0, interval: "30ms" },
    });
    const src = facesDriver.create(config, { cameras: hub }) as FacesSource;
    await src.start(ctx);
    try {
      expect(hub.get("feeder-1")).toBeDefined();
      await vi.waitFor(() => expect(src.status().frames).toBeGreaterThanOrEqual(15), { timeout: 240_000 });
      expect(src.status()).toMatchObject({ backend: "wasm", model: "pigface-synth-1", pigs: 5 });
      // the gateway page shows the operating point from the source's status
      expect(src.status().operatingPoint).toMatchObject({
        far: 0.01,
        source: expect.stringMatching(/^(herd|card)$/),
        threshold: expect.any(Number),
      });
      clock.advance(3_600_000);
      await vi.waitFor(() => expect(ctx.readings.some((r) => r.kind === "census")).toBe(true), {
        timeout: 120_000,
      });
    } finally {
      await src.stop();
    }
    const sightings = ctx.readings.filter((r) => r.kind === "sighting");
    for (const r of [...sightings, ...ctx.readings.filter((x) => x.kind === "census")]) {
      expect(kinds[r.kind as "sighting" | "census"].schema.safeParse(r.body).success).toBe(true);
    }
    const named = sightings.filter((r) => (r.body as { pig: string | null }).pig !== null);
    expect(named.length / sightings.length).toBeGreaterThan(0.6);
    const census = ctx.readings.find((r) => r.kind === "census")!.body as {
      barn: string;
      count: number;
      operatingPoint?: { threshold: number; source: string; far: number };
    };
    expect(census.barn).toBe("barn-b");
    expect(census.count).toBeGreaterThanOrEqual(3);
    // the census says at which threshold it was counted, and whether that is the herd's own
    expect(census.operatingPoint).toMatchObject({
      far: 0.01,
      source: expect.stringMatching(/^(herd|card)$/),
    });
    expect(typeof census.operatingPoint!.threshold).toBe("number");
    expect(census.operatingPoint).toHaveProperty("identificationRate");
    expect(census.operatingPoint).toHaveProperty("unknownRejection");
    // an older agent's census, without an operating point, is still a valid census
    const { operatingPoint: _op, ...older } = census as Record<string, unknown>;
    expect(kinds.census.schema.safeParse(older).success).toBe(true);
  }, 600_000);
});

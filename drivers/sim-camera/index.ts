import { z } from "zod";
import { frameOptions } from "../camera/config.ts";
import { LazySource } from "../common/lazy-source.ts";
import type { DriverDef } from "../types.ts";

export const simCameraConfigSchema = z.strictObject({
  driver: z.literal("sim-camera"),
  ...frameOptions,
  /** Size of the rendered frame (before any resize by width/height). */
  frameWidth: z.number().int().min(64).max(1920).default(320),
  frameHeight: z.number().int().min(64).max(1080).default(240),
  pigs: z.number().int().min(0).max(20).default(3),
});

export const simCameraDriver: DriverDef<typeof simCameraConfigSchema> = {
  name: "sim-camera",
  description: "A synthetic camera rendering a pen with wandering pigs (demo, tests; no hardware)",
  configSchema: simCameraConfigSchema,
  needsJit: true,
  // sharp loads only where a camera is configured.
  create: (c, deps) =>
    new LazySource(c.name, async () => {
      const [{ CameraSource }, { syntheticGrabber }] = await Promise.all([
        import("../camera/source.ts"),
        import("./synthetic.ts"),
      ]);
      return new CameraSource(
        { ...c, reconnectMin: 1000, reconnectMax: 10_000, timeout: 5000 },
        syntheticGrabber({ fps: c.fps, width: c.frameWidth, height: c.frameHeight, pigs: c.pigs }),
        deps?.cameras,
      );
    }),
};

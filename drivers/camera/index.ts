import { LazySource } from "../common/lazy-source.ts";
import type { DriverDef } from "../types.ts";
import { cameraConfigSchema } from "./config.ts";

export const cameraDriver: DriverDef<typeof cameraConfigSchema> = {
  name: "camera",
  description:
    "JPEG frames from an HTTP snapshot URL, ffmpeg (V4L2/RTSP/any input) or a folder; sharp resize; media records",
  configSchema: cameraConfigSchema,
  needsJit: true,
  // sharp loads only where a camera is configured.
  create: (config, deps) =>
    new LazySource(config.name, async () => {
      const [{ CameraSource }, { grabberFor }] = await Promise.all([
        import("./source.ts"),
        import("./grabbers.ts"),
      ]);
      return new CameraSource(config, grabberFor(config), deps?.cameras);
    }),
};

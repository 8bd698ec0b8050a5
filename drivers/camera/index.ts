import type { DriverDef } from "../types.ts";
import { cameraConfigSchema } from "./config.ts";
import { grabberFor } from "./grabbers.ts";
import { CameraSource } from "./source.ts";

export const cameraDriver: DriverDef<typeof cameraConfigSchema> = {
  name: "camera",
  description:
    "JPEG frames from an HTTP snapshot URL, ffmpeg (V4L2/RTSP/any input) or a folder; sharp resize; media records",
  configSchema: cameraConfigSchema,
  create: (config, deps) => new CameraSource(config, grabberFor(config), deps?.cameras),
};

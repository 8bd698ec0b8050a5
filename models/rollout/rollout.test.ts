import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../core/keys.ts";
import { CameraHub } from "../../drivers/camera-types.ts";
import { type FacesSource, facesDriver } from "../pipeline/driver.ts";
import { ensureRuntime } from "../runtime.ts";
import { manualClock, recordingContext, tinyModelDir, tmpPath } from "../test-helpers.ts";
import { currentModel, installModel, readCurrent, rollbackModel } from "./install.ts";
import { decodeModelPackage, encodeModelPackage } from "./package.ts";
import { signModel } from "./sign.ts";

const cloud = generateKeyPair();
const intruder = generateKeyPair();
let v1 = "";
let v2 = "";

beforeAll(async () => {
  await ensureRuntime({ prefer: "wasm" });
  v1 = await tinyModelDir("v1");
  v2 = await tinyModelDir("v2");
});

describe("model rollout", () => {
  it("installs a signed model, switches atomically, keeps the previous for rollback", () => {
    const root = tmpPath("models");
    const bytes = encodeModelPackage(signModel(v1, cloud.privateKey));
    expect(installModel(bytes, cloud.publicKeyB64, root)).toMatchObject({ version: "v1", previous: null });
    installModel(signModel(v2, cloud.privateKey), cloud.publicKey, root);
    expect(readCurrent(root)).toMatchObject({ version: "v2", previous: "v1" });
    expect(
      readFileSync(join(currentModel(root)!.dir, "weights.bin")).equals(
        readFileSync(join(v2, "weights.bin")),
      ),
    ).toBe(true);
    expect(rollbackModel(root)).toMatchObject({ version: "v1", previous: "v2" });
  });

  it("refuses a package signed by another key, or with a file changed after signing", () => {
    const root = tmpPath("models");
    installModel(signModel(v1, cloud.privateKey), cloud.publicKey, root);
    expect(() => installModel(signModel(v2, intruder.privateKey), cloud.publicKey, root)).toThrow(
      expect.objectContaining({ code: "BL_MODEL_SIGNATURE" }),
    );
    const pkg = decodeModelPackage(encodeModelPackage(signModel(v2, cloud.privateKey)));
    const w = Buffer.from(pkg.files["weights.bin"]!, "base64");
    w[100] = (w[100]! + 1) % 256;
    pkg.files["weights.bin"] = w.toString("base64");
    expect(() => installModel(pkg, cloud.publicKey, root)).toThrow(
      expect.objectContaining({ code: "BL_MODEL_HASH" }),
    );
    expect(readCurrent(root)?.version).toBe("v1");
    expect(() => rollbackModel(root)).toThrow(expect.objectContaining({ code: "BL_MODEL_ROLLBACK" }));
  });

  it("keeps the running model when a bad-signature model arrives, and picks up a good one", async () => {
    const root = tmpPath("models");
    installModel(signModel(v1, cloud.privateKey), cloud.publicKey, root);
    const clock = manualClock();
    const ctx = recordingContext(clock);
    const config = facesDriver.configSchema.parse({
      driver: "faces",
      name: "faces-a",
      camera: "feeder-1",
      rois: [{ left: 0, top: 0, width: 64, height: 64 }],
      model: root,
      gallery: `${tmpPath("gallery")}.db`,
    });
    const hub = new CameraHub();
    hub.register({ camera: "feeder-1", onFrame: () => () => {}, latest: () => undefined });
    const src = facesDriver.create(config, { cameras: hub }) as FacesSource;
    await src.start(ctx);
    try {
      expect(src.status().model).toBe("v1");
      const forged = signModel(v2, intruder.privateKey);
      expect(() => installModel(forged, cloud.publicKey, root)).toThrow(/signature/);
      expect(await src.reloadModel()).toBe("v1");
      installModel(signModel(v2, cloud.privateKey), cloud.publicKey, root);
      expect(await src.reloadModel()).toBe("v2");
    } finally {
      await src.stop();
    }
  });
});

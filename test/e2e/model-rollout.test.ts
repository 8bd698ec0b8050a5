import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishModel } from "../../cloud/models/publish.ts";
import { modelApiRoutes, modelPackageRoutes } from "../../cloud/models/routes.ts";
import { generateKeyPair } from "../../core/keys.ts";
import { readCurrent } from "../../models/rollout/install.ts";
import { encodeModelPackage } from "../../models/rollout/package.ts";
import { signModel } from "../../models/rollout/sign.ts";
import { tmpDir } from "../helpers/services.ts";
import { type Stack, startStack, TEST_TOKEN, uniqueDevice } from "../helpers/stack.ts";
import { waitFor } from "../helpers/wait-for.ts";

const PRETRAINED = join(import.meta.dirname, "../../models/pretrained");

describe("model rollout: cloud publishes a signed model, the gateway verifies, installs and reports it", () => {
  let stack: Stack;
  const modelsDir = join(tmpDir(), "models");
  beforeAll(async () => {
    stack = await startStack({
      broker: "aedes",
      db: "sqlite",
      modules: [{ routes: modelApiRoutes(modelsDir), publicRoutes: modelPackageRoutes(modelsDir) }],
    });
  });
  afterAll(async () => stack?.stop());

  const rollout = (version: string, device: string) =>
    fetch(`${stack.cloud.url}/api/v1/models/${version}/rollout`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ devices: [device], baseUrl: stack.cloud.url }),
    });
  const modelEvents = async (device: string) => {
    const r = await fetch(`${stack.cloud.url}/api/v1/devices/${device}/records?stream=model`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
    });
    return ((await r.json()) as { records: Array<{ body: { state: string } }> }).records.map(
      (x) => x.body.state,
    );
  };

  it("installs a good package atomically, refuses one signed by another key, and keeps the good one running", async () => {
    const device = uniqueDevice("cam");
    const agent = await stack.agent(device);
    const root = join(agent.config.dataDir, "models");
    // A command reaches a device once its session subscribes (brokers keep no session before that).
    await waitFor(() => agent.link.stats.subscribed, "agent subscribed");

    const good = publishModel(stack.cloud.ctx, PRETRAINED, modelsDir, "v-test-1");
    expect((await rollout(good.version, device)).status).toBe(200);
    await waitFor(() => readCurrent(root)?.version === "v-test-1", "model installed");
    await waitFor(
      async () => (await modelEvents(device)).includes("v-test-1"),
      "install reported as evidence",
    );

    // A package signed by someone else, served by the cloud: the gateway must refuse it.
    const forged = signModel(PRETRAINED, generateKeyPair().privateKey, "v-forged");
    writeFileSync(join(modelsDir, "v-forged.pkg"), encodeModelPackage(forged));
    expect((await rollout("v-forged", device)).status).toBe(200);
    await waitFor(async () => (await modelEvents(device)).includes("refused"), "refusal reported");
    expect(readCurrent(root)?.version).toBe("v-test-1");

    // Unknown versions and bad names are refused by the cloud.
    expect((await rollout("v-none", device)).status).toBe(404);
    expect((await fetch(`${stack.cloud.url}/models/..%2Fetc.pkg`)).status).toBe(400);
  });
});

import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mosquittoAvailable } from "../helpers/services.ts";
import { type Stack, startStack, uniqueDevice } from "../helpers/stack.ts";
import { requireTool } from "../helpers/tools.ts";
import { waitFor } from "../helpers/wait-for.ts";

const BIN = join(import.meta.dirname, "../../bin/barnlink.js");

const ready = (await mosquittoAvailable()) && requireTool("mosquitto_sub");

describe.runIf(ready)("mosquitto_sub -F %p | barnlink decode", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ broker: "mosquitto", db: "sqlite" });
  });
  afterAll(async () => stack?.stop());

  it("prints every record of live up-batches as JSON lines", async () => {
    const device = uniqueDevice("pipe");
    const session = [
      "-h",
      "127.0.0.1",
      "-p",
      "1883",
      "-t",
      `barnlink/v1/${device}/up`,
      "-i",
      `decode-${device}`,
    ];
    // A persistent QoS 1 session subscribed (SUBACKed: -E exits then) before anything is sent: the
    // broker queues every batch for it, so the subscriber below gets them all however late it is
    // ready. No sleep hoping it has subscribed.
    expect(spawnSync("mosquitto_sub", [...session, "-q", "1", "-c", "-E"]).status).toBe(0);
    const sub = spawn("mosquitto_sub", [...session, "-q", "1", "-c", "-F", "%p", "-C", "2", "-W", "120"]);
    const chunks: Buffer[] = [];
    sub.stdout.on("data", (c: Buffer) => chunks.push(c));
    const agent = await stack.agent(device);
    agent.emit(
      [1, 2, 3].map((i) => ({
        stream: "env.temperature",
        kind: "reading",
        body: { value: i, unit: "degC" },
      })),
    );
    await waitFor(() => agent.link.stats.batchesAcked >= 1, "first batch acked");
    agent.emit([{ stream: "door.main", kind: "event", body: { input: "door", state: true } }]);
    await new Promise<void>((resolve) => sub.once("exit", () => resolve()));
    // A clean-session connect with the same id ends the persistent session on the broker.
    spawnSync("mosquitto_sub", [...session, "-E"]);
    const r = spawnSync(process.execPath, [BIN, "decode"], {
      input: Buffer.concat(chunks),
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.stream, l.seq])).toEqual([
      ["env.temperature", 1],
      ["env.temperature", 2],
      ["env.temperature", 3],
      ["door.main", 1],
    ]);
    expect(lines[0]).toMatchObject({ device, kind: "reading", body: { value: 1, unit: "degC" } });
  });
});

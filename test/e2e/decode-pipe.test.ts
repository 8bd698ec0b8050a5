import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mosquittoAvailable } from "../helpers/services.ts";
import { type Stack, startStack, uniqueDevice, until } from "../helpers/stack.ts";
import { requireTool } from "../helpers/tools.ts";

const BIN = join(import.meta.dirname, "../../bin/barnlink.js");

describe("mosquitto_sub -F %p | barnlink decode", () => {
  let stack: Stack | undefined;
  beforeAll(async () => {
    if (!(await mosquittoAvailable())) return;
    stack = await startStack({ broker: "mosquitto", db: "sqlite" });
  });
  afterAll(async () => stack?.stop());

  it("prints every record of live up-batches as JSON lines", async (t) => {
    if (!stack || !requireTool("mosquitto_sub")) return t.skip();
    const device = uniqueDevice("pipe");
    const sub = spawn("mosquitto_sub", [
      "-h",
      "127.0.0.1",
      "-p",
      "1883",
      "-t",
      `barnlink/v1/${device}/up`,
      "-F",
      "%p",
      "-C",
      "2",
      "-W",
      "30",
    ]);
    const chunks: Buffer[] = [];
    sub.stdout.on("data", (c: Buffer) => chunks.push(c));
    await new Promise((r) => setTimeout(r, 500));
    const agent = await stack.agent(device);
    agent.emit(
      [1, 2, 3].map((i) => ({
        stream: "env.temperature",
        kind: "reading",
        body: { value: i, unit: "degC" },
      })),
    );
    await until(() => agent.link.stats.batchesAcked >= 1, 10_000, "first batch acked");
    agent.emit([{ stream: "door.main", kind: "event", body: { input: "door", state: true } }]);
    await new Promise<void>((resolve) => sub.once("exit", () => resolve()));
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

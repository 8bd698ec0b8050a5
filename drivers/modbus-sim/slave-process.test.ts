import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { requireTool } from "../../test/helpers/tools.ts";
import { startSlaveProcess } from "./slave-process.ts";

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

describe.runIf(requireTool("python3-pymodbus"))("the pymodbus slave process", () => {
  it("a slave that died under us rejects commands with a clear error, never an EPIPE crash", async () => {
    const slave = await startSlaveProcess({ tcp: await freePort(), units: [1] });
    await slave.set(1, "hr", 0, [1]);
    const uncaught: unknown[] = [];
    const onErr = (e: unknown) => uncaught.push(e);
    process.on("uncaughtException", onErr);
    try {
      process.kill(slave.pid!, "SIGKILL");
      // Dead (a zombie) before this process has noticed: the next write meets a pipe with no reader.
      const stat = () => readFileSync(`/proc/${slave.pid}/stat`, "utf8").split(" ")[2];
      while (stat() !== "Z") {}
      // Commands keep coming from the demo's refresh loop while the exit is noticed.
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => slave.set(1, "hr", 0, [i])),
      );
      expect(results.every((r) => r.status === "rejected")).toBe(true);
      for (const r of results) expect((r as PromiseRejectedResult).reason.message).toMatch(/modbus slave/);
      await new Promise((r) => setImmediate(r));
      expect(uncaught).toEqual([]);
    } finally {
      process.off("uncaughtException", onErr);
      await slave.stop();
    }
  });
});

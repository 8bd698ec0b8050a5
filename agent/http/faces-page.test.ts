import { describe, expect, it } from "vitest";
import { generateKeyPair } from "../../core/keys.ts";
import type { LinkStats } from "../../sync/link.ts";
import { MemoryOutbox } from "../../sync/outbox/memory-outbox.ts";
import { chromiumAvailable, launch } from "../../test/browser/harness.ts";
import { tmpDir } from "../../test/helpers/services.ts";
import { waitFor } from "../../test/helpers/wait-for.ts";
import { Agent, type AgentLink } from "../agent.ts";
import { agentConfigSchema } from "../config.ts";
import { startGatewayHttp } from "./server.ts";

/** No broker: the page is about what the gateway itself knows. */
const link = (): AgentLink => ({
  stats: { connected: false, recordsAcked: 0 } as LinkStats,
  start() {},
  async stop() {},
  kick() {},
  reconnectNow() {},
  restrict() {},
  restrictedBytes: undefined,
  async drained() {
    return true;
  },
});

interface Op {
  threshold: number;
  source: string;
  identificationRate: number | null;
  unknownRejection: number | null;
}

const chromium = await chromiumAvailable();

describe("gateway page: the faces matcher's operating point", () => {
  it.runIf(chromium)(
    "shows the identification rate and unknown rejection at the threshold in use, live and from the census",
    async () => {
      const dir = tmpDir();
      const config = agentConfigSchema().parse({
        device: "barn-op",
        dataDir: dir,
        cloud: { mqtt: { url: "mqtt://127.0.0.1:1" }, publicKey: generateKeyPair().publicKeyB64 },
        sources: [
          {
            driver: "faces",
            name: "faces-1",
            camera: "feeder-1",
            barn: "barn-op",
            rois: [{ left: 96, top: 40, width: 128, height: 128 }],
            gallery: `${dir}/faces.db`,
            backend: "wasm",
            censusWindow: "1h",
            synthetic: { pigs: 4, strangers: 0, interval: "30ms" },
          },
        ],
      });
      const agent = new Agent(config, {
        parts: { openOutbox: () => new MemoryOutbox("barn-op"), createLink: () => link() },
      });
      await agent.start();
      const http = await startGatewayHttp(agent, { port: 0, host: "127.0.0.1" });
      try {
        // GET /api/status: the faces source's own status carries its operating point
        const op = await waitFor(
          async () => {
            const s = (await (await fetch(`${http.url}/api/status`)).json()) as {
              sources: Array<{ name: string; status: { pigs: number; operatingPoint: Op | null } | null }>;
            };
            const st = s.sources.find((x) => x.name === "faces-1")?.status;
            return st && st.pigs >= 2 && st.operatingPoint?.identificationRate != null
              ? st.operatingPoint
              : undefined;
          },
          "the faces source to enrol pigs and report an operating point",
          { timeoutMs: 300_000, intervalMs: 200 },
        );
        expect(op.source).toMatch(/^(herd|card)$/);
        expect(op.identificationRate).toBeGreaterThanOrEqual(0);
        expect(op.identificationRate).toBeLessThanOrEqual(1);
        // a census record as the faces pipeline writes it (sync/kinds.ts), with its operating point
        agent.emit(
          [
            {
              stream: "census",
              kind: "census",
              body: {
                barn: "barn-op",
                from: 0,
                to: 1,
                count: 4,
                method: "faces",
                operatingPoint: {
                  threshold: 0.6,
                  far: 0.01,
                  source: "herd",
                  identificationRate: 0.875,
                  unknownRejection: 0.99,
                  genuineScores: 60,
                  impostorScores: 80,
                },
              },
            },
          ],
          "faces-1",
        );
        const browser = await launch();
        try {
          const page = await browser.newPage();
          await page.goto(http.url);
          const live = page.locator("p.op").first();
          await live.waitFor({ timeout: 120_000 });
          const text = (await live.textContent()) ?? "";
          expect(text).toMatch(/known pigs identified \d+\.\d%/);
          expect(text).toMatch(/unknown pigs rejected (\d+\.\d%|–)/);
          expect(text).toMatch(/threshold \d\.\d{3}/);
          await page.getByText("4 head (faces) · identified 87.5%, unknown rejected 99.0%").waitFor({
            timeout: 120_000,
          });
        } finally {
          await browser.close();
        }
      } finally {
        await http.close();
        await agent.stop();
      }
    },
    600_000,
  );
});

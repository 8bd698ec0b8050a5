import { createHash, randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import type { Agent } from "../../agent/agent.ts";
import type { RoundReport } from "../../cloud/patrol/report.ts";
import { patrolModule } from "../../cloud/patrol/routes.ts";
import { patrolConfig } from "../../drivers/patrol/index.ts";
import { rackChecks, rackPanel } from "../../drivers/patrol/sim-panel.ts";
import { mqttRobot, PanelCamera, rosbridgeRobot, type TestRobot } from "../helpers/robots.ts";
import { MOSQUITTO_URL, mosquittoAvailable, postgresAvailable } from "../helpers/services.ts";
import { type Stack, startStack, TEST_TOKEN, uniqueDevice } from "../helpers/stack.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * A patrol round driven through each robot-controller transport ends as an inspection report in
 * the cloud with the planted faults (a red fault lamp on rack-a2, an overheating rack-a3) and
 * nothing else. Real parts: the machine's Mosquitto (the MQTT transport, and the link in that
 * case), aedes, SQLite and PostgreSQL, the agent's outbox and link. The rosbridge side is a small
 * rosbridge-protocol server written for the test; the camera is SIMULATED (rendered panels).
 */
const mqttOk = await mosquittoAvailable();
const pgOk = await postgresAvailable();

const plan = {
  version: "1",
  checkpoints: ["rack-a1", "rack-a2", "rack-a3"]
    .map((id) => ({
      id,
      limits: { temperature: { max: 32 }, smoke: { equals: false } },
      burst: 4,
      checks: rackChecks(id, 8),
    }))
    .concat([
      {
        id: "ups-room",
        limits: { temperature: { max: 28 }, smoke: { equals: false } },
        burst: 1,
        checks: [],
      },
    ]),
};

const cases = [
  {
    name: "MQTT JSON (Mosquitto; cloud on PostgreSQL)",
    ok: mqttOk && pgOk,
    broker: "mosquitto",
    db: "postgres",
  },
  {
    name: "rosbridge WebSocket (test server; cloud on SQLite via aedes)",
    ok: true,
    broker: "aedes",
    db: "sqlite",
  },
] as const;

describe.each(cases)("patrol round over $name", ({ ok, broker, db }) => {
  let stack: Stack | undefined;
  let robot: TestRobot | undefined;
  const cam = new PanelCamera("front");
  afterAll(async () => {
    cam.stop();
    await stack?.stop();
    await robot?.close();
  });

  it.runIf(ok)(
    "alarms go up while away within the budget, the round at the dock; the report finds the planted faults and nothing else",
    async () => {
      stack = await startStack({ broker, db, modules: [patrolModule()] });
      const device = uniqueDevice("robot");
      let controller: Record<string, unknown>;
      if (broker === "mosquitto") {
        const prefix = `test/${device}-${randomBytes(3).toString("hex")}`;
        robot = await mqttRobot(MOSQUITTO_URL, prefix);
        controller = { transport: "mqtt", url: MOSQUITTO_URL, prefix };
      } else {
        const rb = await rosbridgeRobot();
        robot = rb;
        controller = { transport: "rosbridge", url: rb.url };
      }
      const agent: Agent = await stack.agent(device, {
        // stack.agent() spreads its patch unparsed: parse the source here so its defaults apply.
        sources: [
          patrolConfig.parse({
            driver: "patrol",
            name: "bot",
            controller,
            plan,
            camera: "front",
            burstTimeout: 10_000,
          }),
        ],
        sync: { ...stackSync(), reconnectOn: "dock", awayBudget: 4096 },
      });
      agent.cameras.register(cam);
      await robot.ready();
      const api = async (path: string) => {
        const r = await fetch(`${stack!.cloud.url}/api/v1${path}`, {
          headers: { authorization: `Bearer ${TEST_TOKEN}` },
        });
        if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
        return r;
      };
      const committed = async (stream: string) =>
        (
          (await (await api(`/devices/${device}`)).json()) as {
            streams: Record<string, { committedSeq: number }>;
          }
        ).streams[stream]?.committedSeq ?? 0;
      const inspections = () => agent.outbox.status().find((s) => s.stream === "patrol.inspections");

      await robot.dock(false);
      await robot.battery(93);
      const visit = async (
        cp: string,
        env: Record<string, number | boolean>,
        panel?: Parameters<typeof rackPanel>[1],
      ) => {
        const before = inspections()?.lastSeq ?? 0;
        cam.show(cp.startsWith("rack") ? rackPanel(cp, panel) : undefined);
        await robot!.pose(1, 2, 0);
        await robot!.arrive(cp, env);
        await waitFor(() => (inspections()?.lastSeq ?? 0) > before, `inspection of ${cp}`);
        await robot!.depart(cp);
      };
      await visit("rack-a1", { temperature: 24.1, humidity: 45, smoke: false });
      await visit("rack-a2", { temperature: 25.3, humidity: 44, smoke: false }, { faultLamp: "red" });
      await visit("rack-a3", { temperature: 46.8, humidity: 38, smoke: false });
      await visit("ups-room", { temperature: 23, humidity: 50, smoke: false });
      cam.show(undefined);

      // Away from the dock: the violation alarms reach the cloud, the inspections wait (alarms only).
      await waitFor(async () => (await committed("alarms")) >= 2, "violation alarms in the cloud while away");
      expect(inspections()!.pending).toBe(4);
      expect(await committed("patrol.inspections")).toBe(0);
      expect(agent.link.restrictedBytes).toBeLessThanOrEqual(4096);

      await robot.dock(true);
      await waitFor(
        () => agent.outbox.status().every((s) => s.pending === 0),
        "everything uploaded at the dock",
      );

      const rounds = (await (await api(`/patrol/robots/${device}/rounds`)).json()) as Array<{
        round: number;
      }>;
      expect(rounds).toHaveLength(1);
      const r = (await (
        await api(`/patrol/robots/${device}/rounds/${rounds[0]!.round}`)
      ).json()) as RoundReport;
      expect(r).toMatchObject({
        complete: true,
        plan: "1",
        counts: { planned: 4, inspected: 4, violations: 2, missed: 0, notChecked: 0 },
      });
      expect(r.findings.map((f) => [f.type, f.checkpoint, f.check, f.seen])).toEqual([
        ["violation", "rack-a2", "fault-lamp", "red steady"],
        ["violation", "rack-a3", "temperature", "46.8"],
      ]);
      expect(r.checkpoints.map((c) => [c.checkpoint, c.status])).toEqual([
        ["rack-a1", "ok"],
        ["rack-a2", "violations"],
        ["rack-a3", "violations"],
        ["ups-room", "ok"],
      ]);
      // Alarm review with the captured frame: the bytes are the frame the robot hashed.
      const sha = r.findings[0]!.frameSha256!;
      const img = Buffer.from(await (await api(`/patrol/robots/${device}/frames/${sha}`)).arrayBuffer());
      expect(createHash("sha256").update(img).digest("hex")).toBe(sha);
      const csv = await (await api(`/patrol/robots/${device}/rounds/${r.round}/report.csv`)).text();
      expect(csv.split("\r\n")[0]).toMatch(/^device,round,plan,checkpoint,status,check/);
      expect(csv).toContain(
        `${device},${r.round},1,rack-a2,violations,fault-lamp,lamp,off,red steady,no,,${sha}`,
      );
      const pdf = Buffer.from(
        await (await api(`/patrol/robots/${device}/rounds/${r.round}/report.pdf`)).arrayBuffer(),
      );
      expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
      const trend = (await (await api(`/patrol/robots/${device}/checkpoints/rack-a3/trend`)).json()) as {
        series: Record<string, Array<{ value: number }>>;
      };
      expect(trend.series.temperature!.map((p) => p.value)).toEqual([46.8]);
      expect(trend.series["load-kw"]!.map((p) => p.value)).toEqual([4.2]);
    },
    180_000,
  );
});

function stackSync() {
  return {
    linger: 20,
    ackTimeout: 3000,
    reconnectBase: 100,
    reconnectCap: 1000,
    batchMaxRecords: 2000,
    batchMaxBytes: 256 * 1024,
    window: 8,
    compression: "brotli" as const,
  };
}

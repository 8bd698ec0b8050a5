import { spawn } from "node:child_process";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MosquittoHandle, mosquittoBinaryAvailable, startMosquitto } from "../test/helpers/mosquitto.ts";
import { waitFor } from "../test/helpers/wait-for.ts";
import { connectDirect, createMqttClient } from "./mqtt-client.ts";

const ROOT = join(import.meta.dirname, "..");

describe("the gateway's MQTT client: only the transport its URL names (issue #15)", () => {
  it("reads host, port and user:password from the URL as mqtt.connect does", async () => {
    const c = createMqttClient("mqtt://farm-a:p%40ss@127.0.0.1:9", "url-probe");
    try {
      expect(c.options).toMatchObject({ host: "127.0.0.1", port: 9, username: "farm-a", password: "p@ss" });
      expect(c.options.protocol).toBe("mqtt");
    } finally {
      await c.endAsync(true);
    }
  });

  it("options left undefined (as the agent's link options pass them) keep the URL's credentials", async () => {
    const c = createMqttClient("mqtt://farm-a:pw@127.0.0.1:9", "undef-probe", {
      username: undefined,
      password: undefined,
      keepalive: 30,
    });
    try {
      expect(c.options).toMatchObject({ username: "farm-a", password: "pw", port: 9, keepalive: 30 });
    } finally {
      await c.endAsync(true);
    }
  });

  it("client certificates make mqtt:// a TLS connection, as in mqtt.connect", async () => {
    const c = connectDirect("mqtt://127.0.0.1:9", {
      cert: "x",
      key: "y",
      reconnectPeriod: 0,
      manualConnect: true,
    });
    // manualConnect: never connects (and MQTT.js cannot end a client that has no stream yet).
    expect(c?.options.protocol).toBe("mqtts");
  });

  it("leaves WebSocket URLs to mqtt.connect", () => {
    expect(connectDirect("ws://127.0.0.1:9/mqtt", {})).toBeUndefined();
    expect(
      connectDirect("mqtt://127.0.0.1:9", { servers: [{ host: "h", port: 1, protocol: "wss" }] }),
    ).toBeUndefined();
  });
});

const available = await mosquittoBinaryAvailable();

describe.runIf(available)("the gateway's MQTT client against Mosquitto", () => {
  let broker: MosquittoHandle;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it("takes the next broker of `servers` on each reconnect", async () => {
    const c: MqttClient = createMqttClient("mqtt://127.0.0.1:9", "rotate-probe", {
      servers: [
        { host: "127.0.0.1", port: 9 },
        { host: "127.0.0.1", port: broker.port },
      ],
    });
    c.on("error", () => {});
    // No automatic reconnect (the link paces them): reconnect by hand after the refused first broker.
    c.once("close", () => c.reconnect());
    try {
      await waitFor(() => c.connected, "the client to connect to the second broker");
      expect(c.options.port).toBe(broker.port);
    } finally {
      await c.endAsync(true);
    }
  });

  it("connects and publishes over TCP without loading MQTT.js's WebSocket transport (node:http, https, tls)", async () => {
    // A process of its own: the test runner has loaded node:http long before.
    const code = `
      import { createMqttClient } from ${JSON.stringify(join(ROOT, "sync/mqtt-client.ts"))};
      const c = createMqttClient(${JSON.stringify(broker.url)}, "loads-probe");
      c.on("error", () => {});
      c.on("connect", () => c.publish("probe/x", "1", { qos: 1 }, async (err) => {
        const mods = process.moduleLoadList.filter((m) => m.startsWith("NativeModule ")).map((m) => m.slice(13));
        process.stdout.write(JSON.stringify({ err: err?.message ?? null, mods }));
        await c.endAsync(true);
      }));`;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const status = await new Promise((r) => child.once("exit", r));
    expect(err).toBe("");
    expect(status).toBe(0);
    const r = JSON.parse(out) as { err: string | null; mods: string[] };
    expect(r.err).toBeNull();
    expect(r.mods).toContain("net");
    for (const m of ["http", "https", "tls", "zlib"]) expect(r.mods).not.toContain(m);
  });
});

import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../agent/agent.ts";
import { brokerConfigMosquitto } from "../../agent/commands/broker-config.ts";
import { devicesRevoke } from "../../agent/commands/enrol.ts";
import { agentConfigSchema } from "../../agent/config.ts";
import { loadOrCreateKey } from "../../core/keys.ts";
import { freePort, mosquittoBinaryAvailable } from "../../test/helpers/mosquitto.ts";
import { tcpReachable, tmpDir } from "../../test/helpers/services.ts";
import { waitFor } from "../../test/helpers/wait-for.ts";
import { createCsr, DeploymentCa } from "../certs/ca.ts";
import { cloudConfigSchema } from "../config.ts";
import { openDb } from "../db/connect.ts";
import { migrateToLatest } from "../db/migrate.ts";
import { registerDevice } from "../devices.ts";
import { type CloudHandle, startCloud } from "../service.ts";
import { issueBrokerSecret } from "./credentials.ts";
import { newSecret } from "./passwords.ts";

/**
 * A real Mosquitto (2.x) run with what `barnlink broker-config mosquitto` writes, on free ports:
 * the attacks of issue #13 against it, and the cloud and agents working through it over plain MQTT,
 * TLS with passwords, and TLS with client certificates (`barnlink certs`).
 */
const available = await mosquittoBinaryAvailable();

describe.runIf(available)("Mosquitto with the generated configuration", async () => {
  const dir = tmpDir("barnlink-mosq-acl-");
  const cloudPw = newSecret();
  const pw: Record<string, string> = {};
  const children: ChildProcess[] = [];
  const clients: MqttClient[] = [];
  const stops: Array<() => Promise<unknown>> = [];
  let plain = 0;
  let tls = 0;
  let certTls = 0;
  let ca: DeploymentCa;
  const cfgFile = join(dir, "cloud.json");
  const cloudCfg = (url: string, extra: Record<string, unknown> = {}) =>
    cloudConfigSchema.parse({
      instance: "cloud-t",
      database: { url: join(dir, "cloud.db") },
      mqtt: { url, username: "cloud-t", password: cloudPw, ...extra },
      http: { port: 0 },
      keyFile: join(dir, "cloud.key"),
    });

  // Started as root (CI containers), Mosquitto drops to its own user, who cannot read a test's tmp files.
  const asRoot = process.getuid?.() === 0 ? ["--run-as", "root"] : [];
  const mosquitto = async (out: string, args: string[], ports: number[]) => {
    expect(
      await brokerConfigMosquitto.run([
        "--config",
        cfgFile,
        "--out",
        out,
        "--host",
        "127.0.0.1",
        ...asRoot,
        ...args,
      ]),
    ).toBe(0);
    const child = spawn("mosquitto", ["-c", join(out, "mosquitto.conf")], { stdio: "ignore" });
    children.push(child);
    for (const p of ports) await waitFor(() => tcpReachable("127.0.0.1", p, 200), `mosquitto on ${p}`);
  };
  const connect = async (port: number, o: mqtt.IClientOptions) => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ...o,
    });
    clients.push(c);
    return c;
  };
  const attempt = (port: number, o: mqtt.IClientOptions) =>
    connect(port, o).then(
      () => "connected",
      (e: Error) => e.message,
    );

  beforeAll(async () => {
    [plain, tls, certTls] = [await freePort(), await freePort(), await freePort()];
    writeFileSync(cfgFile, JSON.stringify(cloudCfg(`mqtt://127.0.0.1:${plain}`)));
    const db = openDb(join(dir, "cloud.db"));
    await migrateToLatest(db);
    for (const d of ["farm-a", "farm-b", "farm-c"]) {
      const key = loadOrCreateKey(join(dir, d, "device.key"));
      await registerDevice(db, d, key.publicKeyB64, null, Date.now());
      if (d !== "farm-c") pw[d] = await issueBrokerSecret(db, d, Date.now());
    }
    await db.close();
    ca = await DeploymentCa.create(join(dir, "ca"));
    const server = await ca.issue({ kind: "server", cn: "broker", hosts: ["127.0.0.1", "localhost"] });
    writeFileSync(join(dir, "server.pem"), server.certPem);
    writeFileSync(join(dir, "server.key"), server.keyPem!, { mode: 0o600 });
    const tlsArgs = [
      "--ca",
      join(dir, "ca", "ca.pem"),
      "--cert",
      join(dir, "server.pem"),
      "--key",
      join(dir, "server.key"),
    ];
    await mosquitto(
      join(dir, "m1"),
      ["--port", String(plain), "--tls-port", String(tls), ...tlsArgs],
      [plain, tls],
    );
    await mosquitto(
      join(dir, "m2"),
      [
        "--no-plain",
        "--tls-port",
        String(certTls),
        ...tlsArgs,
        "--client-certs",
        "--crl",
        join(dir, "ca", "crl.pem"),
      ],
      [certTls],
    );
  });
  afterAll(async () => {
    for (const c of clients) c.end(true);
    for (const s of stops.reverse()) await s().catch(() => {});
    for (const c of children) c.kill("SIGTERM");
  });

  it("refuses anonymous clients, wrong passwords and devices without a credential", async () => {
    expect(await attempt(plain, { clientId: "anon" })).toMatch(/Not authorized|Bad username/i);
    expect(await attempt(plain, { username: "farm-a", password: "guess" })).toMatch(
      /Not authorized|Bad username/i,
    );
    expect(await attempt(plain, { username: "farm-c", password: pw["farm-a"] })).toMatch(
      /Not authorized|Bad username/i,
    );
  });

  it("refuses reading another farm's data and publishing as another device", async () => {
    const cloud = await connect(plain, {
      clientId: "barnlink-cloud-t",
      username: "cloud-t",
      password: cloudPw,
    });
    const atCloud: string[] = [];
    cloud.on("message", (topic, p) => atCloud.push(`${topic} ${p}`));
    await cloud.subscribeAsync("barnlink/v1/+/up", { qos: 1 });
    const b = await connect(plain, { username: "farm-b", password: pw["farm-b"] });
    const seenByB: string[] = [];
    b.on("message", (topic) => seenByB.push(topic));
    // Mosquitto 2.0 may grant a wildcard and then deliver only what the ACL allows: what counts is
    // that nothing of farm-a's reaches farm-b.
    for (const f of ["#", "barnlink/v1/+/up", "barnlink/v1/farm-a/up", "barnlink/v1/farm-a/ack"])
      await b.subscribeAsync(f, { qos: 1 }).catch(() => {});
    await b.subscribeAsync("barnlink/v1/farm-b/ack", { qos: 1 });
    await b.publishAsync("barnlink/v1/farm-a/up", "forged", { qos: 1 });
    await b.publishAsync("barnlink/v1/farm-a/ack", "forged ack", { qos: 1 });
    await b.publishAsync("barnlink/v1/farm-b/up", "own", { qos: 1 });
    const a = await connect(plain, { username: "farm-a", password: pw["farm-a"] });
    await a.publishAsync("barnlink/v1/farm-a/up", "genuine", { qos: 1 });
    await waitFor(() => atCloud.length >= 2, "the cloud receives both farms' own batches");
    expect(atCloud.sort()).toEqual(["barnlink/v1/farm-a/up genuine", "barnlink/v1/farm-b/up own"]);
    // A fence: farm-b's own ack, sent after farm-a's batch was delivered, arrives after anything else would.
    await cloud.publishAsync("barnlink/v1/farm-b/ack", "fence", { qos: 1 });
    await waitFor(() => seenByB.length > 0, "farm-b's own ack");
    expect(seenByB).toEqual(["barnlink/v1/farm-b/ack"]);
  });

  it("refuses taking over the cloud's client id: the cloud stays connected", async () => {
    const cloud = await connect(plain, {
      clientId: "barnlink-cloud-t",
      username: "cloud-t",
      password: cloudPw,
      clean: false,
    });
    let closed = 0;
    cloud.on("close", () => closed++);
    const got: string[] = [];
    cloud.on("message", (topic) => got.push(topic));
    await cloud.subscribeAsync("barnlink/v1/+/up", { qos: 1 });
    // Valid device credentials, the cloud's client id: the broker makes the client id 'farm-b'.
    const thief = await connect(plain, {
      clientId: "barnlink-cloud-t",
      username: "farm-b",
      password: pw["farm-b"],
    });
    expect(await attempt(plain, { clientId: "barnlink-cloud-t" })).toMatch(/Not authorized|Bad username/i);
    await thief.publishAsync("barnlink/v1/farm-b/up", "x", { qos: 1 });
    await waitFor(() => got.length > 0, "the cloud still receives");
    expect(closed).toBe(0);
    expect(cloud.connected).toBe(true);
  });

  it("the cloud and agents commit over plain MQTT, TLS with passwords and TLS with client certificates", async () => {
    // Client certificates: the gateway makes its key and CSR; the CA signs; the key never moves.
    const certFiles = async (cn: string) => {
      const { csrPem, keyPem } = await createCsr(cn);
      const { certPem } = await ca.issue({ kind: "device", cn, csrPem });
      writeFileSync(join(dir, `${cn}.pem`), certPem);
      writeFileSync(join(dir, `${cn}.key`), keyPem, { mode: 0o600 });
      return { certFile: join(dir, `${cn}.pem`), keyFile: join(dir, `${cn}.key`) };
    };
    const caFile = join(dir, "ca", "ca.pem");
    const clouds: CloudHandle[] = [];
    for (const c of [
      cloudCfg(`mqtt://127.0.0.1:${plain}`),
      cloudCfg(`mqtts://127.0.0.1:${certTls}`, {
        caFile,
        ...(await certFiles("cloud-t")),
        password: undefined,
        username: undefined,
      }),
    ]) {
      const h = await startCloud({ ...c, instance: "cloud-t" });
      clouds.push(h);
      stops.push(() => h.stop());
    }
    const runs: Array<[string, Record<string, unknown>]> = [
      ["farm-a", { url: `mqtt://127.0.0.1:${plain}`, username: "farm-a", password: pw["farm-a"] }],
      ["farm-b", { url: `mqtts://127.0.0.1:${tls}`, username: "farm-b", password: pw["farm-b"], caFile }],
      ["farm-c", { url: `mqtts://127.0.0.1:${certTls}`, caFile, ...(await certFiles("farm-c")) }],
    ];
    for (const [device, mqttCfg] of runs) {
      const agent = new Agent(
        agentConfigSchema().parse({
          device,
          dataDir: join(dir, device),
          cloud: { mqtt: mqttCfg, publicKey: clouds[0]!.publicKey },
          sync: { linger: 20, ackTimeout: 3000, reconnectBase: 100, reconnectCap: 1000 },
          clock: { synced: "always" },
        }),
      );
      stops.push(() => agent.stop());
      await agent.start();
      agent.emit([{ stream: "env.temperature", kind: "reading", body: { value: 21, unit: "degC" } }]);
      await waitFor(
        () => agent.outbox.status().find((s) => s.stream === "env.temperature")?.ackedSeq === 1,
        `${device} committed`,
      );
    }
  });
  it("a revoked device is refused once the configuration is regenerated and Mosquitto reloaded", async () => {
    const db = openDb(join(dir, "cloud.db"));
    await migrateToLatest(db);
    const key = loadOrCreateKey(join(dir, "farm-r", "device.key"));
    await registerDevice(db, "farm-r", key.publicKeyB64, null, Date.now());
    const secret = await issueBrokerSecret(db, "farm-r", Date.now());
    await db.close();
    const port = await freePort();
    const out = join(dir, "m3");
    await mosquitto(out, ["--port", String(port)], [port]);
    const login = { clientId: "barnlink-farm-r", username: "farm-r", password: secret };
    const first = await connect(port, login);
    await first.endAsync();
    expect(await devicesRevoke.run(["--config", cfgFile, "--id", "farm-r"])).toBe(0);
    // Regenerated from the registry (farm-r is left out) and reloaded, as docs/security.md says.
    expect(
      await brokerConfigMosquitto.run([
        "--config",
        cfgFile,
        "--out",
        out,
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        ...asRoot,
      ]),
    ).toBe(0);
    children.at(-1)!.kill("SIGHUP");
    await waitFor(
      async () => /Not authorized|Bad username/i.test(await attempt(port, login)),
      "Mosquitto to refuse the revoked device",
      { timeoutMs: 20_000 },
    );
    // Another device is unaffected.
    expect(
      await attempt(port, { clientId: "barnlink-farm-a", username: "farm-a", password: pw["farm-a"] }),
    ).toBe("connected");
  });
});

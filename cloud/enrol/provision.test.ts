import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { Agent } from "../../agent/agent.ts";
import { agentConfigSchema } from "../../agent/config.ts";
import { loadConfigFile } from "../../core/config.ts";
import { type KeyPair, loadOrCreateKey } from "../../core/keys.ts";
import { encodeBatch } from "../../sync/codec.ts";
import { batchOf, StreamWriter } from "../../sync/stream-writer.ts";
import { upTopic } from "../../sync/topics.ts";
import { cliInProcess } from "../../test/helpers/cli.ts";
import { freshDb, tmpDir } from "../../test/helpers/services.ts";
import { waitFor } from "../../test/helpers/wait-for.ts";
import { type BrokerHandle, startBroker } from "../broker/broker.ts";
import { newSecret } from "../broker/passwords.ts";
import { RegistryAuth } from "../broker/registry-auth.ts";
import { DeploymentCa } from "../certs/ca.ts";
import { cloudConfigSchema } from "../config.ts";
import { type CloudHandle, startCloud } from "../service.ts";

const ADMIN = "provision-test-admin-token-0123";
// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field in assertions
type Answer = Record<string, any>;

/**
 * Provisioning, rotation and revocation end to end (#13): a real cloud (SQLite), the embedded
 * broker over TLS requiring client certificates signed by the deployment CA and registry-backed
 * logins, `barnlink provision` / `barnlink keys rotate` run as the CLI, real agents.
 */
describe("provisioning, key rotation and revocation, end to end", () => {
  const dir = tmpDir();
  const instance = "cloud-prov";
  let skew = 0;
  const now = () => Date.now() + skew;
  let broker: BrokerHandle;
  let cloud: CloudHandle;
  let ca: DeploymentCa;
  let fresh: Awaited<ReturnType<typeof freshDb>>;
  const agents: Agent[] = [];
  const api = (path: string, body?: unknown, token = ADMIN, method = body === undefined ? "GET" : "POST") =>
    fetch(`${cloud.url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    }).then(async (r) => ({ status: r.status, json: (await r.json()) as Answer }));
  const enrolToken = async (device: string, ttl = "15m") => {
    const r = await api("/api/v1/enrolments", { device, ttl });
    expect(r.status).toBe(201);
    return r.json.token as string;
  };
  const devices = async () =>
    (
      await cloud.ctx.db.kysely.selectFrom("devices").select(["id", "public_key", "revoked_at"]).execute()
    ).map((d) => d.id);
  const committed = async (device: string) =>
    Number(
      (
        await cloud.ctx.db.kysely
          .selectFrom("streams")
          .select((eb) => eb.fn.sum<number>("committed_seq").as("n"))
          .where("device", "=", device)
          .executeTakeFirst()
      )?.n ?? 0,
    );
  const startAgent = async (file: string) => {
    const cfg = loadConfigFile(file, agentConfigSchema());
    const a = new Agent({
      ...cfg,
      sync: { ...cfg.sync, linger: 20, ackTimeout: 3000, reconnectBase: 100, reconnectCap: 500 },
      clock: { ...cfg.clock, synced: "always" },
      http: { ...cfg.http, enabled: false },
    });
    agents.push(a);
    await a.start();
    return a;
  };
  const emit = (a: Agent, n: number, value = 20) =>
    a.emit(
      Array.from({ length: n }, (_, i) => ({
        stream: "env.temperature",
        kind: "reading",
        body: { value: value + i / 10, unit: "degC" },
      })),
    );
  const provision = (file: string, token: string, extra: string[] = []) =>
    cliInProcess(["provision", "--cloud", cloud.url, "--token", token, "--config", file, ...extra]);
  const gatewayConfig = (device: string) => {
    const file = join(dir, `${device}.yaml`);
    // What an installer writes before provisioning: the device id, where its data lives, its sources.
    writeFileSync(file, `# ${device}'s gateway\ndevice: ${device}\ndataDir: ${join(dir, device)}\n`);
    return file;
  };
  /** A batch signed by `key` for `device`, straight into the cloud's ingest. */
  const forged = (device: string, key: KeyPair, stream: string) => {
    const w = new StreamWriter(device, stream, key);
    const seg = w.next([
      {
        t: { wall: now(), boot: "b", mono: 1, synced: true },
        kind: "reading",
        body: { value: 1, unit: "degC" },
      },
    ]);
    return cloud.ingest.handle(upTopic(device), encodeBatch(batchOf(device, [seg])));
  };

  beforeAll(async () => {
    ca = await DeploymentCa.create(join(dir, "ca"));
    const server = await ca.issue({ kind: "server", cn: "broker", hosts: ["127.0.0.1", "localhost"] });
    const cloudCert = await ca.issue({ kind: "device", cn: instance });
    writeFileSync(join(dir, "cloud.pem"), cloudCert.certPem);
    writeFileSync(join(dir, "cloud-client.key"), cloudCert.keyPem!, { mode: 0o600 });
    const cloudPw = newSecret();
    const auth = new RegistryAuth([{ username: instance, password: cloudPw, kind: "cloud" }], now);
    broker = await startBroker({
      port: 0,
      auth,
      recheckMs: 200,
      tls: {
        key: server.keyPem!,
        cert: server.certPem,
        ca: ca.cert.toString("pem"),
        requestCert: true,
        rejectUnauthorized: true,
      },
    });
    fresh = await freshDb("sqlite");
    await fresh.db.close();
    const cfg = cloudConfigSchema.parse({
      instance,
      database: { url: fresh.url },
      mqtt: {
        url: broker.url,
        username: instance,
        password: cloudPw,
        caFile: join(dir, "ca", "ca.pem"),
        certFile: join(dir, "cloud.pem"),
        keyFile: join(dir, "cloud-client.key"),
      },
      http: { port: 0 },
      keyFile: join(dir, "cloud.key"),
      tokens: [{ name: "ops", role: "admin", token: ADMIN }],
      enrol: { mqttUrl: broker.url, caDir: join(dir, "ca"), rotationOverlap: "1h" },
    });
    writeFileSync(join(dir, "cloud.yaml"), JSON.stringify(cfg));
    cloud = await startCloud(cfg, { now });
    auth.attach(cloud.ctx.db);
  }, 60_000);
  afterAll(async () => {
    for (const a of agents) await a.stop().catch(() => {});
    await cloud?.stop();
    await broker?.close();
    await fresh?.drop();
  });

  it("a gateway provisioned with a client certificate connects over TLS and commits; its key never left it", async () => {
    const device = "barn-tls";
    const file = gatewayConfig(device);
    const r = await provision(file, await enrolToken(device), ["--client-cert"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const cfg = parse(readFileSync(file, "utf8"));
    expect(readFileSync(file, "utf8")).toMatch(/^# barn-tls's gateway/); // the installer's file, kept
    expect(cfg.cloud.publicKey).toBe(cloud.publicKey);
    expect(cfg.cloud.mqtt).toMatchObject({ url: broker.url, username: device });
    const cert = new X509Certificate(readFileSync(cfg.cloud.mqtt.certFile));
    expect(cert.subject).toBe(`CN=${device}`);
    expect(cert.verify(new X509Certificate(readFileSync(join(dir, "ca", "ca.pem"))).publicKey)).toBe(true);
    // The certificate is for the key made on the gateway; the CA's folder holds no private key but its own.
    expect(
      cert.checkPrivateKey(
        (await import("node:crypto")).createPrivateKey(readFileSync(cfg.cloud.mqtt.keyFile)),
      ),
    ).toBe(true);
    expect(
      (await import("node:fs")).readdirSync(join(dir, "ca", "issued")).every((f) => f.endsWith(".pem")),
    ).toBe(true);
    const key = loadOrCreateKey(join(dir, device, "device.key"));
    expect(
      (
        await cloud.ctx.db.kysely
          .selectFrom("devices")
          .select("public_key")
          .where("id", "=", device)
          .executeTakeFirst()
      )?.public_key,
    ).toBe(key.publicKeyB64);

    const a = await startAgent(file);
    emit(a, 5);
    await waitFor(async () => (await committed(device)) >= 5, "records committed over TLS", {
      timeoutMs: 60_000,
    });
  }, 90_000);

  it("refuses a reused, expired, foreign or badly proven token with its code, and registers nothing", async () => {
    const file = gatewayConfig("barn-neg");
    const before = await devices();
    // Wrong device id: a token made for another gateway.
    const other = await enrolToken("barn-other");
    let r = await provision(file, other);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/HTTP 403 BL_ENROL_DEVICE.*\[BL_PROVISION_REFUSED\]/);
    // Unknown token.
    r = await provision(file, "ble_not-a-token");
    expect(r.stderr).toMatch(/HTTP 401 BL_ENROL_TOKEN\b/);
    // Expired: made for a minute, presented two minutes later (the cloud's clock).
    const short = await enrolToken("barn-neg", "1m");
    skew += 120_000;
    try {
      r = await provision(file, short);
    } finally {
      skew -= 120_000;
    }
    expect(r.stderr).toMatch(/HTTP 410 BL_ENROL_TOKEN_EXPIRED/);
    // A request not signed by the key it registers.
    const token = await enrolToken("barn-neg");
    const stranger = loadOrCreateKey(join(dir, "stranger.key"));
    const bad = await api(
      "/api/v1/enrol",
      {
        device: "barn-neg",
        token,
        publicKey: stranger.publicKeyB64,
        at: Date.now(),
        signature: Buffer.alloc(64).toString("base64"),
      },
      "",
    );
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe("BL_ENROL_PROOF");
    expect(await devices()).toEqual(before);
    expect(existsSync(join(dir, "barn-neg.yaml")) && parse(readFileSync(file, "utf8")).cloud).toBeUndefined();
    // The token refused for a bad proof is still good: the genuine gateway enrols with it, once.
    r = await provision(file, token);
    expect(r.code).toBe(0);
    r = await provision(file, token);
    expect(r.stderr).toMatch(/HTTP 409 BL_ENROL_TOKEN_USED/);
    expect((await devices()).sort()).toEqual([...before, "barn-neg"].sort());
  }, 90_000);

  it("rotation: old and new key both accepted during the overlap, then only the new", async () => {
    const device = "barn-rot";
    const file = gatewayConfig(device);
    expect((await provision(file, await enrolToken(device), ["--client-cert"])).code).toBe(0);
    const oldKey = loadOrCreateKey(join(dir, device, "device.key"));
    const oldPassword = parse(readFileSync(file, "utf8")).cloud.mqtt.password as string;
    let a = await startAgent(file);
    emit(a, 3);
    await waitFor(async () => (await committed(device)) >= 3, "first records", { timeoutMs: 60_000 });

    const r = await cliInProcess(["keys", "rotate", "--cloud", cloud.url, "--config", file]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/old key and password work until/);
    const newKey = loadOrCreateKey(join(dir, device, "device.key"));
    expect(newKey.publicKeyB64).not.toBe(oldKey.publicKeyB64);
    expect(existsSync(join(dir, device, "device.key.next"))).toBe(false);
    // In the overlap the running agent still signs with the old key: its batches are committed.
    emit(a, 3, 30);
    await waitFor(async () => (await committed(device)) >= 6, "old-key records in the overlap", {
      timeoutMs: 60_000,
    });
    // Restarted, the agent signs with the new key and logs in with the new password.
    await a.stop();
    a = await startAgent(file);
    emit(a, 3, 40);
    await waitFor(async () => (await committed(device)) >= 9, "new-key records", { timeoutMs: 60_000 });
    expect((await forged(device, oldKey, "old.during")).ack?.status).toBe("committed");

    // Past the overlap: only the new key verifies, only the new password logs in.
    skew += 2 * 3_600_000;
    try {
      cloud.ingest.keys.forget(device);
      const late = await forged(device, oldKey, "old.after");
      expect(late.rejected?.code).toBe("BL_BAD_SIGNATURE");
      expect((await forged(device, newKey, "new.after")).ack?.status).toBe("committed");
      const cfg = parse(readFileSync(file, "utf8"));
      const tls = {
        ca: readFileSync(cfg.cloud.mqtt.caFile),
        cert: readFileSync(cfg.cloud.mqtt.certFile),
        key: readFileSync(cfg.cloud.mqtt.keyFile),
      };
      const login = (password: string) =>
        mqtt
          .connectAsync(broker.url, {
            ...tls,
            clientId: `barnlink-${device}`,
            username: device,
            password,
            reconnectPeriod: 0,
            connectTimeout: 5000,
          })
          .then(
            async (c) => {
              await c.endAsync();
              return "connected";
            },
            (e: Error) => e.message,
          );
      expect(await login(oldPassword)).toMatch(/Bad username or password|Not authorized|refused/i);
      await a.stop(); // its session is the one the probe would take over
      expect(await login(cfg.cloud.mqtt.password)).toBe("connected");
    } finally {
      skew -= 2 * 3_600_000;
    }
  }, 150_000);

  it("revocation: the broker refuses the device and the cloud refuses its data", async () => {
    const device = "barn-rev";
    const file = gatewayConfig(device);
    expect((await provision(file, await enrolToken(device), ["--client-cert"])).code).toBe(0);
    const key = loadOrCreateKey(join(dir, device, "device.key"));
    const a = await startAgent(file);
    emit(a, 2);
    await waitFor(async () => (await committed(device)) >= 2, "records before revocation", {
      timeoutMs: 60_000,
    });
    await a.stop();
    const cfg = parse(readFileSync(file, "utf8"));
    const login = {
      ca: readFileSync(cfg.cloud.mqtt.caFile),
      cert: readFileSync(cfg.cloud.mqtt.certFile),
      key: readFileSync(cfg.cloud.mqtt.keyFile),
      clientId: `barnlink-${device}`,
      username: device,
      password: cfg.cloud.mqtt.password,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    };
    // A session open at revocation is cut by the broker's re-check.
    const open = await mqtt.connectAsync(broker.url, login);
    let cut = false;
    open.on("close", () => {
      cut = true;
    });
    const r = await api(`/api/v1/devices/${device}`, undefined, ADMIN, "DELETE");
    expect(r.status).toBe(200);
    await waitFor(() => cut, "the broker to cut the revoked device's session", { timeoutMs: 20_000 });
    open.end(true);
    // The cloud refuses what its key signs.
    expect((await forged(device, key, "after.revoke")).rejected?.code).toBe("BL_UNREGISTERED_DEVICE");
    // The broker refuses its login (certificate still valid, password still in its file).
    const refused = await mqtt.connectAsync(broker.url, login).then(
      async (c) => {
        await c.endAsync();
        return "connected";
      },
      (e: Error) => e.message,
    );
    expect(refused).not.toBe("connected");
  }, 90_000);
});

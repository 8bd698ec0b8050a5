import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../core/keys.ts";
import { freshDb } from "../../test/helpers/services.ts";
import { waitFor } from "../../test/helpers/wait-for.ts";
import { registerDevice, revokeDevice } from "../devices.ts";
import { type BrokerHandle, startBroker } from "./broker.ts";
import { issueBrokerSecret, rotateBrokerSecret } from "./credentials.ts";
import { newSecret } from "./passwords.ts";
import { RegistryAuth } from "./registry-auth.ts";

/**
 * The attacks of issue #13 against the embedded broker (aedes): before, it had no authentication
 * hooks, so each of these succeeded.
 */
describe("embedded broker with registry-backed authentication and ACLs", () => {
  let fresh: Awaited<ReturnType<typeof freshDb>>;
  let broker: BrokerHandle;
  const cloudPw = newSecret();
  const pw: Record<string, string> = {};
  const open: MqttClient[] = [];
  const connect = async (o: mqtt.IClientOptions) => {
    const c = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 5000, ...o });
    open.push(c);
    return c;
  };
  const refusal = (o: mqtt.IClientOptions) =>
    connect(o).then(
      () => "connected",
      (e: Error) => e.message,
    );

  beforeAll(async () => {
    fresh = await freshDb("sqlite");
    const auth = new RegistryAuth([{ username: "cloud-1", password: cloudPw, kind: "cloud" }]);
    auth.attach(fresh.db);
    broker = await startBroker({ port: 0, auth });
    for (const d of ["farm-a", "farm-b"]) {
      await registerDevice(fresh.db, d, generateKeyPair().publicKeyB64, null, Date.now());
      pw[d] = await issueBrokerSecret(fresh.db, d, Date.now());
    }
  });
  afterAll(async () => {
    for (const c of open) c.end(true);
    await broker?.close();
    await fresh?.drop();
  });

  it("refuses an anonymous client, a wrong password and an unknown user", async () => {
    expect(await refusal({ clientId: "anon" })).toMatch(/Bad username or password/i);
    expect(await refusal({ clientId: "barnlink-farm-a", username: "farm-a", password: "guess" })).toMatch(
      /Bad username or password/i,
    );
    expect(
      await refusal({ clientId: "barnlink-nobody", username: "nobody", password: pw["farm-a"] }),
    ).toMatch(/Bad username or password/i);
  });

  it("a device may not read another farm's data, nor everything (#)", async () => {
    const b = await connect({ clientId: "barnlink-farm-b", username: "farm-b", password: pw["farm-b"] });
    // SUBACK 0x80 = refused [MQTT-3.9.3] (mqtt.js rejects it); only its own ack topic is granted.
    for (const f of ["#", "barnlink/v1/+/up", "barnlink/v1/farm-a/ack", "barnlink/v1/farm-a/up"])
      await expect(b.subscribeAsync(f, { qos: 1 }), f).rejects.toThrow(/Subscribe error/);
    expect((await b.subscribeAsync("barnlink/v1/farm-b/ack", { qos: 1 }))[0]?.qos).toBe(1);
    const seen: string[] = [];
    b.on("message", (t) => seen.push(t));
    const a = await connect({ clientId: "barnlink-farm-a", username: "farm-a", password: pw["farm-a"] });
    const cloud = await connect({ clientId: "barnlink-cloud-1", username: "cloud-1", password: cloudPw });
    const upAtCloud: string[] = [];
    cloud.on("message", (t) => upAtCloud.push(t));
    await cloud.subscribeAsync("barnlink/v1/+/up", { qos: 1 });
    await a.publishAsync("barnlink/v1/farm-a/up", "x", { qos: 1 });
    await waitFor(() => upAtCloud.length > 0, "the cloud receives farm-a's batch");
    expect(seen).toEqual([]);
  });

  it("a device may not publish as another device, nor acks or commands", async () => {
    const cloud = await connect({ clientId: "barnlink-cloud-1", username: "cloud-1", password: cloudPw });
    const got: string[] = [];
    cloud.on("message", (t, p) => got.push(`${t} ${p}`));
    await cloud.subscribeAsync("barnlink/v1/+/up", { qos: 1 });
    const b = await connect({ clientId: "barnlink-farm-b", username: "farm-b", password: pw["farm-b"] });
    const closed = new Promise<void>((r) => b.once("close", () => r()));
    b.publish("barnlink/v1/farm-a/up", "forged", { qos: 0 });
    await closed; // aedes drops a client whose publish is refused
    const b2 = await connect({ clientId: "barnlink-farm-b", username: "farm-b", password: pw["farm-b"] });
    const closed2 = new Promise<void>((r) => b2.once("close", () => r()));
    b2.publish("barnlink/v1/farm-a/ack", "forged", { qos: 0 });
    await closed2;
    const b3 = await connect({ clientId: "barnlink-farm-b", username: "farm-b", password: pw["farm-b"] });
    await b3.publishAsync("barnlink/v1/farm-b/up", "mine", { qos: 1 });
    await waitFor(() => got.length > 0, "farm-b's own batch");
    expect(got).toEqual(["barnlink/v1/farm-b/up mine"]);
  });

  it("nobody takes over the cloud's or a device's client id; the sessions stay up", async () => {
    const cloud = await connect({ clientId: "barnlink-cloud-1", username: "cloud-1", password: cloudPw });
    const a = await connect({ clientId: "barnlink-farm-a", username: "farm-a", password: pw["farm-a"] });
    let cloudClosed = false;
    cloud.on("close", () => {
      cloudClosed = true;
    });
    // A device's own valid credentials, anonymous, or an admin-less stranger: all refused.
    expect(
      await refusal({ clientId: "barnlink-cloud-1", username: "farm-b", password: pw["farm-b"] }),
    ).toMatch(/Identifier rejected/i);
    expect(await refusal({ clientId: "barnlink-cloud-1" })).toMatch(/Bad username or password/i);
    expect(
      await refusal({ clientId: "barnlink-farm-a", username: "farm-b", password: pw["farm-b"] }),
    ).toMatch(/Identifier rejected/i);
    // Still connected, still receiving.
    const got: string[] = [];
    cloud.on("message", (t) => got.push(t));
    await cloud.subscribeAsync("barnlink/v1/+/up", { qos: 1 });
    await a.publishAsync("barnlink/v1/farm-a/up", "after", { qos: 1 });
    await waitFor(() => got.length > 0, "the cloud still receives");
    expect(cloudClosed).toBe(false);
    expect(a.connected).toBe(true);
  });

  it("a revoked device is refused; a rotated secret overlaps, then the old one stops", async () => {
    await registerDevice(fresh.db, "farm-r", generateKeyPair().publicKeyB64, null, Date.now());
    const old = await issueBrokerSecret(fresh.db, "farm-r", Date.now());
    const fresh2 = await rotateBrokerSecret(fresh.db, "farm-r", Date.now(), 60_000);
    const login = (password: string) =>
      refusal({ clientId: "barnlink-farm-r", username: "farm-r", password });
    expect(await login(old)).toBe("connected");
    expect(await login(fresh2)).toBe("connected");
    await rotateBrokerSecret(fresh.db, "farm-r", Date.now(), 0);
    expect(await login(old)).toMatch(/Bad username or password/i);
    await revokeDevice(fresh.db, "farm-r", Date.now());
    const newest = await issueBrokerSecret(fresh.db, "farm-r", Date.now());
    expect(await login(newest)).toMatch(/Bad username or password/i);
  });
});

import { spawn } from "node:child_process";
import { join } from "node:path";
import mqtt from "mqtt";
import { startBroker } from "../cloud/broker/broker.ts";
import { issueBrokerSecret } from "../cloud/broker/credentials.ts";
import { newSecret } from "../cloud/broker/passwords.ts";
import { RegistryAuth } from "../cloud/broker/registry-auth.ts";
import { cloudConfigSchema } from "../cloud/config.ts";
import { registerDevice } from "../cloud/devices.ts";
import { startCloud } from "../cloud/service.ts";
import { generateKeyPair } from "../core/keys.ts";
import { encodeBatch } from "../sync/codec.ts";
import { batchOf, StreamWriter } from "../sync/stream-writer.ts";
import { ackTopic, upTopic } from "../sync/topics.ts";
import { tmpDir } from "../test/helpers/services.ts";

export interface BenchLine {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
}

// The flooders, in a process of their own (in this one they would only measure this process's
// event loop): CONCURRENCY loops connecting over and over with no or wrong credentials, a quarter
// each anonymous, an unknown user, the genuine device's name with a wrong password (a PBKDF2 check
// each), and the device's client id (a takeover attempt). Prints the attempts made when stopped.
const FLOODER = `
import mqtt from "mqtt";
const [url, n] = [process.argv[1], Number(process.argv[2])];
let attempts = 0, stop = false;
process.on("SIGTERM", () => { stop = true; process.stdout.write(String(attempts)); process.exit(0); });
const kinds = [{}, { username: "nobody", password: "x" }, { username: "barn-1", password: "wrong" },
  { username: "barn-1", password: "wrong", clientId: "barnlink-barn-1" }];
const loop = (i) => {
  if (stop) return;
  const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...kinds[i % 4] });
  let done = false;
  const next = () => { if (done) return; done = true; attempts++; c.end(true); setImmediate(() => loop(i + 1)); };
  c.once("error", next);
  c.once("connect", next);
  c.once("close", next);
};
for (let i = 0; i < n; i++) loop(i);
process.stdout.write("ready\\n");
`;

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)]!;

/**
 * Unauthenticated clients flooding the embedded broker (aedes with registry-backed logins) while an
 * authenticated device commits through a real cloud (#13): the device's commit round trip (publish
 * → ingest → signed ack), p50 and p95, without and with the flood, in the same run.
 */
export async function benchBrokerFlood(): Promise<BenchLine[]> {
  const dir = tmpDir("barnlink-broker-flood-");
  const cloudPw = newSecret();
  const auth = new RegistryAuth([{ username: "cloud-1", password: cloudPw, kind: "cloud" }]);
  const broker = await startBroker({ port: 0, auth });
  const cloud = await startCloud(
    cloudConfigSchema.parse({
      database: { url: join(dir, "cloud.db") },
      mqtt: { url: broker.url, username: "cloud-1", password: cloudPw },
      http: { port: 0 },
      keyFile: join(dir, "cloud.key"),
    }),
  );
  auth.attach(cloud.ctx.db);
  const key = generateKeyPair();
  await registerDevice(cloud.ctx.db, "barn-1", key.publicKeyB64, null, Date.now());
  const password = await issueBrokerSecret(cloud.ctx.db, "barn-1", Date.now());
  const device = await mqtt.connectAsync(broker.url, {
    clientId: "barnlink-barn-1",
    username: "barn-1",
    password,
  });
  const waiting = new Map<string, () => void>();
  device.on("message", (_t, p) => waiting.get((JSON.parse(p.toString()) as { batch: string }).batch)?.());
  await device.subscribeAsync(ackTopic("barn-1"), { qos: 1 });
  const w = new StreamWriter("barn-1", "env.temperature", key);
  let i = 0;
  const commit = async () => {
    i++;
    const b = batchOf("barn-1", [
      w.next([
        {
          t: { wall: Date.now(), boot: "b", mono: i, synced: true },
          kind: "reading",
          body: { value: i, unit: "degC" },
        },
      ]),
    ]);
    const acked = new Promise<void>((r) => waiting.set(b.id, r));
    const t0 = process.hrtime.bigint();
    await device.publishAsync(upTopic("barn-1"), encodeBatch(b as never), { qos: 1 });
    await acked;
    waiting.delete(b.id);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const measure = async (n: number) => {
    const xs: number[] = [];
    for (let k = 0; k < n; k++) xs.push(await commit());
    return xs;
  };
  await measure(50); // warm-up
  const base = await measure(300);
  const flooder = spawn(process.execPath, ["--input-type=module", "-e", FLOODER, broker.url, "32"], {
    cwd: join(import.meta.dirname, ".."),
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  flooder.stdout.on("data", (d) => (out += d));
  await new Promise<void>((r) => {
    const check = () => (out.includes("ready") ? r() : setTimeout(check, 20));
    check();
  });
  await new Promise((r) => setTimeout(r, 2000)); // the flood at full rate before measuring
  const t0 = Date.now();
  const flooded = await measure(300);
  const secs = (Date.now() - t0) / 1000;
  const exited = new Promise((r) => flooder.once("exit", r));
  flooder.kill("SIGTERM");
  await exited;
  const attempts = Number(out.replace("ready", "").trim()) || 0;
  await device.endAsync();
  await cloud.stop();
  await broker.close();
  const b = "broker-flood";
  const [p50, p95, f50, f95] = [pct(base, 0.5), pct(base, 0.95), pct(flooded, 0.5), pct(flooded, 0.95)];
  return [
    { bench: b, metric: "commit round trip p50, no flood", value: p50, unit: "ms" },
    { bench: b, metric: "commit round trip p95, no flood", value: p95, unit: "ms" },
    {
      bench: b,
      metric: "commit round trip p50, flooded",
      value: f50,
      unit: "ms",
      baseline: p50,
      ratio: f50 / p50,
    },
    {
      bench: b,
      metric: "commit round trip p95, flooded",
      value: f95,
      unit: "ms",
      baseline: p95,
      ratio: f95 / p95,
    },
    { bench: b, metric: "refused connection attempts (whole flood)", value: attempts, unit: "attempts" },
    {
      bench: b,
      metric: "flood rate while measuring (approx.)",
      value: attempts / (secs + 2),
      unit: "attempts/s",
    },
  ];
}

import { randomBytes } from "node:crypto";
import { cloudConfigSchema } from "../../cloud/config.ts";
import { openDb } from "../../cloud/db/connect.ts";
import { migrateToLatest } from "../../cloud/db/migrate.ts";
import { registerDevice } from "../../cloud/devices.ts";
import { loadConfigFile } from "../../core/config.ts";
import { ERR_USAGE } from "../../core/errors.ts";
import { loadOrCreateKey, publicKeyFromB64 } from "../../core/keys.ts";
import { runFleet } from "../../sync/fleet.ts";
import { args, type CommandSpec, durationFlag, out } from "../cli-kit.ts";

const usage =
  "barnlink loadgen --devices N --rate R [--batch-every 1s] [--duration 30s] [--url mqtt://…] [--cloud-config FILE | --cloud-key B64] [--prefix P]";

/**
 * A fleet of simulated gateways against a broker (sync/fleet.ts). With --cloud-config it registers
 * each gateway's fresh key in that cloud's database and verifies acks with its key; otherwise it
 * prints `device publicKey` lines first so they can be registered some other way.
 */
export const loadgen: CommandSpec = {
  name: "loadgen",
  summary: "Simulate N gateways each sending R readings/s (own key, MQTT connection, chained stream)",
  usage,
  async run(argv) {
    const a = args(
      argv,
      {
        devices: { type: "string", default: "10" },
        rate: { type: "string", default: "10" },
        duration: { type: "string", default: "30s" },
        "batch-every": { type: "string" },
        url: { type: "string" },
        "cloud-config": { type: "string" },
        "cloud-key": { type: "string" },
        prefix: { type: "string" },
      },
      usage,
    );
    const devices = Number(a.values.devices);
    const rate = Number(a.values.rate);
    if (!Number.isInteger(devices) || devices < 1 || !(rate > 0))
      throw ERR_USAGE(`--devices must be a positive integer and --rate positive\nusage: ${usage}`);
    const durationMs = durationFlag(a.values.duration!, "--duration");
    const batchEveryMs = a.values["batch-every"]
      ? durationFlag(a.values["batch-every"], "--batch-every")
      : undefined;
    const cfgFile = a.values["cloud-config"];
    const cfg = cfgFile ? loadConfigFile(cfgFile, cloudConfigSchema) : undefined;
    const db = cfg ? openDb(cfg.database.url, { poolSize: cfg.database.poolSize }) : undefined;
    if (db) await migrateToLatest(db);
    const keyB64 = a.values["cloud-key"] ?? (cfg ? loadOrCreateKey(cfg.keyFile).publicKeyB64 : undefined);
    try {
      const report = await runFleet({
        url: a.values.url ?? cfg?.mqtt.url ?? "mqtt://127.0.0.1:1883",
        devices,
        rate,
        durationMs,
        batchEveryMs,
        // A fresh prefix per run: device ids and seqs of an earlier run are never reused.
        prefix: a.values.prefix ?? `load${randomBytes(3).toString("hex")}`,
        cloudKey: keyB64 ? publicKeyFromB64(keyB64) : undefined,
        register: async (id, pub) => {
          if (db) await registerDevice(db, id, pub, "loadgen", Date.now());
          else out(`${id} ${pub}`);
        },
      });
      out(JSON.stringify(report));
      return report.recordsAcked === report.recordsSent ? 0 : 1;
    } finally {
      await db?.close();
    }
  },
};

import { cloudConfigSchema } from "../../cloud/config.ts";
import { openDb } from "../../cloud/db/connect.ts";
import { migrateToLatest } from "../../cloud/db/migrate.ts";
import { listDevices, registerDevice } from "../../cloud/devices.ts";
import { cloudModules } from "../../cloud/modules.ts";
import { startCloud } from "../../cloud/service.ts";
import { loadConfigFile } from "../../core/config.ts";
import { loadOrCreateKey } from "../../core/keys.ts";
import { createLogger } from "../../core/log.ts";
import { args, type CommandSpec, need, out } from "../cli-kit.ts";

const runUsage = "barnlink cloud run --config FILE";
export const cloudRun: CommandSpec = {
  name: "cloud run",
  summary: "Run the cloud service: ingest over MQTT, lending engine, HTTP API and dashboard",
  usage: runUsage,
  async run(argv) {
    const a = args(argv, { config: { type: "string", short: "c" } }, runUsage);
    const cfg = loadConfigFile(need(a.values.config, "--config FILE", runUsage), cloudConfigSchema);
    const log = createLogger("cloud");
    const mods = cloudModules({
      modelsDir: cfg.modelsDir,
      adapt: { ...cfg.adapt, worker: cfg.instance },
    });
    const c = await startCloud(cfg, { log, modules: mods.modules, jobs: mods.jobs });
    out(`barnlink cloud listening on ${c.url} (public key ${c.publicKey})`);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await c.stop();
    return 0;
  },
};

const keyUsage = "barnlink cloud key --config FILE";
export const cloudKey: CommandSpec = {
  name: "cloud key",
  summary: "Print the cloud's public key (agents put it in cloud.publicKey); creates the key if missing",
  usage: keyUsage,
  async run(argv) {
    const a = args(argv, { config: { type: "string", short: "c" } }, keyUsage);
    const cfg = loadConfigFile(need(a.values.config, "--config FILE", keyUsage), cloudConfigSchema);
    out(loadOrCreateKey(cfg.keyFile).publicKeyB64);
    return 0;
  },
};

const addUsage = "barnlink devices add --config CLOUD.yaml --id DEVICE --public-key BASE64 [--name TEXT]";
export const devicesAdd: CommandSpec = {
  name: "devices add",
  summary: "Register a device's public key with the cloud (its data is rejected until then)",
  usage: addUsage,
  async run(argv) {
    const a = args(
      argv,
      {
        config: { type: "string", short: "c" },
        id: { type: "string" },
        "public-key": { type: "string" },
        name: { type: "string" },
      },
      addUsage,
    );
    const cfg = loadConfigFile(need(a.values.config, "--config FILE", addUsage), cloudConfigSchema);
    const db = openDb(cfg.database.url);
    try {
      await migrateToLatest(db);
      const d = await registerDevice(
        db,
        need(a.values.id, "--id", addUsage),
        need(a.values["public-key"], "--public-key", addUsage),
        a.values.name ?? null,
        Date.now(),
      );
      out(`registered ${d.id}`);
    } finally {
      await db.close();
    }
    return 0;
  },
};

const listUsage = "barnlink devices list --config CLOUD.yaml [--json]";
export const devicesList: CommandSpec = {
  name: "devices list",
  summary: "List registered devices",
  usage: listUsage,
  async run(argv) {
    const a = args(argv, { config: { type: "string", short: "c" }, json: { type: "boolean" } }, listUsage);
    const cfg = loadConfigFile(need(a.values.config, "--config FILE", listUsage), cloudConfigSchema);
    const db = openDb(cfg.database.url);
    try {
      await migrateToLatest(db);
      const ds = await listDevices(db);
      if (a.values.json) out(JSON.stringify(ds));
      else for (const d of ds) out(`${d.id}\t${d.publicKey}\t${d.name ?? ""}`);
    } finally {
      await db.close();
    }
    return 0;
  },
};

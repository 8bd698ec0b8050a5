import { startBroker } from "../../cloud/broker/broker.ts";
import { RegistryAuth } from "../../cloud/broker/registry-auth.ts";
import { cloudConfigSchema } from "../../cloud/config.ts";
import { openDb } from "../../cloud/db/connect.ts";
import { migrateToLatest } from "../../cloud/db/migrate.ts";
import { loadConfigFile } from "../../core/config.ts";
import { ERR_USAGE } from "../../core/errors.ts";
import { createLogger } from "../../core/log.ts";
import { args, type CommandSpec, out } from "../cli-kit.ts";

const usage = "barnlink broker (--config CLOUD.yaml | --anonymous) [--host 127.0.0.1] [--port 1883]";

/**
 * The embedded broker as its own process. With --config, logins are checked against the cloud's
 * device registry (its database) and the cloud's own mqtt.username/password, with the ACLs of
 * cloud/broker/acl.ts; --anonymous (development only) must be asked for by name.
 */
export const broker: CommandSpec = {
  name: "broker",
  summary: "Run the embedded MQTT broker (aedes) with the cloud registry's logins and ACLs",
  usage,
  async run(argv) {
    const a = args(
      argv,
      {
        host: { type: "string" },
        port: { type: "string" },
        config: { type: "string" },
        anonymous: { type: "boolean" },
      },
      usage,
    );
    const port = a.values.port === undefined ? 1883 : Number(a.values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw ERR_USAGE(`--port must be 0–65535, got ${a.values.port}`);
    if (!a.values.config && !a.values.anonymous)
      throw ERR_USAGE(
        `give --config CLOUD.yaml (logins from the device registry) or --anonymous; usage: ${usage}`,
      );
    let auth: RegistryAuth | undefined;
    let close = async () => {};
    if (a.values.config) {
      const cfg = loadConfigFile(a.values.config, cloudConfigSchema);
      if (!cfg.mqtt.username || !cfg.mqtt.password)
        throw ERR_USAGE(
          `${a.values.config}: mqtt.username and mqtt.password are the cloud's broker account; set them`,
        );
      const db = openDb(cfg.database.url);
      await migrateToLatest(db);
      auth = new RegistryAuth([{ username: cfg.mqtt.username, password: cfg.mqtt.password, kind: "cloud" }]);
      auth.attach(db);
      close = () => db.close();
    }
    const b = await startBroker({
      host: a.values.host ?? "127.0.0.1",
      port,
      log: createLogger("broker"),
      auth,
    });
    out(
      `MQTT broker listening on ${b.url}${auth ? " (logins and ACLs from the device registry)" : " (ANONYMOUS)"}`,
    );
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await b.close();
    await close();
    return 0;
  },
};

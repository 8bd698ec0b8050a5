import { startBroker } from "../../cloud/broker/broker.ts";
import { ERR_USAGE } from "../../core/errors.ts";
import { createLogger } from "../../core/log.ts";
import { args, type CommandSpec, out } from "../cli-kit.ts";

const usage = "barnlink broker [--host 127.0.0.1] [--port 1883]";

export const broker: CommandSpec = {
  name: "broker",
  summary: "Run the embedded MQTT broker (aedes) for the demo and small sites",
  usage,
  async run(argv) {
    const a = args(argv, { host: { type: "string" }, port: { type: "string" } }, usage);
    const port = a.values.port === undefined ? 1883 : Number(a.values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw ERR_USAGE(`--port must be 0–65535, got ${a.values.port}`);
    const b = await startBroker({ host: a.values.host ?? "127.0.0.1", port, log: createLogger("broker") });
    out(`MQTT broker listening on ${b.url}`);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await b.close();
    return 0;
  },
};

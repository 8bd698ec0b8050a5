import { createServer, type Server } from "node:net";
import { Aedes } from "aedes";
import { type Logger, silentLogger } from "../../core/log.ts";

export interface BrokerHandle {
  host: string;
  port: number;
  url: string;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => {
      server.off("listening", onListening);
      reject(e);
    };
    const onListening = () => {
      server.off("error", onError);
      const a = server.address();
      resolve(typeof a === "object" && a ? a.port : port);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}

/**
 * The embedded MQTT 3.1.1 broker (aedes, in-memory persistence) for the demo and small sites. In
 * production any MQTT 3.1.1/5 broker serves (Mosquitto, EMQX, VerneMQ): see docs/deployment.md.
 * With `fallbackToFree`, a taken port (a server that already runs a broker on 1883) means a free one.
 */
export async function startBroker(
  opts: { host?: string; port?: number; fallbackToFree?: boolean; log?: Logger } = {},
): Promise<BrokerHandle> {
  const host = opts.host ?? "127.0.0.1";
  const log = opts.log ?? silentLogger;
  const aedes = await Aedes.createBroker();
  aedes.on("clientError", (client, err) =>
    log.debug({ client: client?.id, err: err.message }, "client error"),
  );
  const server = createServer(aedes.handle);
  let port: number;
  try {
    port = await listen(server, opts.port ?? 1883, host);
  } catch (e) {
    if (!opts.fallbackToFree || (e as NodeJS.ErrnoException).code !== "EADDRINUSE") {
      aedes.close();
      throw e;
    }
    port = await listen(server, 0, host);
  }
  return {
    host,
    port,
    url: `mqtt://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        aedes.close();
      }),
  };
}

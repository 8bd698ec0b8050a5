import { createServer, type Server } from "node:net";
import { createServer as createTlsServer, type TlsOptions } from "node:tls";
import { Aedes, type Client } from "aedes";
import { type Logger, silentLogger } from "../../core/log.ts";
import { type BrokerPrincipal, clientIdAllowed, mayPublish, maySubscribe } from "./acl.ts";
import type { BrokerAuth } from "./registry-auth.ts";

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
  opts: {
    host?: string;
    port?: number;
    fallbackToFree?: boolean;
    log?: Logger;
    /** Who may connect; without it the broker is anonymous (a development broker only). */
    auth?: BrokerAuth;
    /** Listen with TLS (mqtts://): key, cert, and with `ca` + `requestCert` client certificates. */
    tls?: TlsOptions;
    /** How often connected devices are checked against the registry (a revoked one is disconnected). */
    recheckMs?: number;
  } = {},
): Promise<BrokerHandle> {
  const host = opts.host ?? "127.0.0.1";
  const log = opts.log ?? silentLogger;
  const aedes = await Aedes.createBroker();
  aedes.on("clientError", (client, err) =>
    log.debug({ client: client?.id, err: err.message }, "client error"),
  );
  const stopGuard = opts.auth ? guard(aedes, opts.auth, log, opts.recheckMs ?? 10_000) : () => {};
  const server = opts.tls ? createTlsServer(opts.tls, aedes.handle) : createServer(aedes.handle);
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
    url: `${opts.tls ? "mqtts" : "mqtt"}://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        stopGuard();
        server.close(() => resolve());
        aedes.close();
      }),
  };
}

const refused = (message: string, returnCode: number) => Object.assign(new Error(message), { returnCode });

/**
 * Authentication and ACL hooks (aedes): a principal per client, its client id bound to its user
 * name (so nobody takes over another's session: the check runs before aedes drops the old
 * connection), and every publish, will and subscription held to acl.ts.
 */
function guard(aedes: Aedes, auth: BrokerAuth, log: Logger, recheckMs: number): () => void {
  const who = new Map<Client, BrokerPrincipal>();
  aedes.on("clientDisconnect", (client) => who.delete(client));
  // Revocation reaches sessions already open: each device is re-checked against the registry.
  let checking = false;
  const timer = setInterval(async () => {
    if (checking || !auth.stillAllowed) return;
    checking = true;
    try {
      for (const [client, p] of who) {
        if (client.closed) {
          who.delete(client);
          continue;
        }
        if (p.kind !== "device") continue;
        const ok = await auth.stillAllowed(p).catch(() => true);
        if (!ok) {
          log.warn({ client: client.id, username: p.username }, "broker disconnected a revoked device");
          who.delete(client);
          client.close();
        }
      }
    } finally {
      checking = false;
    }
  }, recheckMs);
  timer.unref();
  aedes.authenticate = (client, username, password, done) => {
    auth.authenticate(username, password).then(
      (p) => {
        if (!p) {
          log.warn({ client: client.id, username }, "broker refused a connection: bad credentials");
          return done(refused("bad user name or password", 4) as never, false);
        }
        if (!clientIdAllowed(p, client.id)) {
          log.warn({ client: client.id, username }, "broker refused a client id bound to another user");
          return done(refused(`client id ${client.id} is not yours`, 2) as never, false);
        }
        who.set(client, p);
        done(null, true);
      },
      (e) => {
        log.error({ err: (e as Error).message }, "broker authentication failed");
        done(refused("authentication unavailable", 3) as never, false);
      },
    );
  };
  aedes.authorizePublish = (client, packet, done) => {
    const p = client ? who.get(client) : undefined;
    if (!client) return done(null); // the broker's own messages ($SYS)
    if (p && mayPublish(p, packet.topic)) return done(null);
    log.warn({ client: client.id, topic: packet.topic }, "broker refused a publish");
    done(new Error(`not allowed to publish on ${packet.topic}`));
  };
  aedes.authorizeSubscribe = (client, sub, done) => {
    const p = who.get(client);
    if (p && maySubscribe(p, sub.topic)) return done(null, sub);
    log.warn({ client: client.id, topic: sub.topic }, "broker refused a subscription");
    // null: the SUBACK says 0x80 (failure) for this filter [MQTT-3.9.3], the connection stays.
    done(null, null);
  };
  return () => clearInterval(timer);
}

import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { activeCredentials, issueBrokerSecret, rotateBrokerSecret } from "../../cloud/broker/credentials.ts";
import { ERR_BROKER_CONFIG } from "../../cloud/broker/errors.ts";
import { mosquittoConfig } from "../../cloud/broker/mosquitto-config.ts";
import { hashPassword } from "../../cloud/broker/passwords.ts";
import { cloudConfigSchema } from "../../cloud/config.ts";
import { openDb } from "../../cloud/db/connect.ts";
import { migrateToLatest } from "../../cloud/db/migrate.ts";
import { loadConfigFile } from "../../core/config.ts";
import { ERR_NOT_FOUND, ERR_USAGE } from "../../core/errors.ts";
import { args, type CommandSpec, durationFlag, need, out } from "../cli-kit.ts";

const port = (v: string | undefined, what: string, dflt?: number) => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw ERR_USAGE(`${what} must be 1–65535, got ${v}`);
  return n;
};

const mosqUsage =
  "barnlink broker-config mosquitto --config CLOUD.yaml --out DIR [--host 0.0.0.0] [--port 1883] " +
  "[--tls-port 8883 --ca CA.pem --cert SERVER.pem --key SERVER.key [--client-certs] [--crl CRL.pem]] [--no-plain] [--run-as USER]";
export const brokerConfigMosquitto: CommandSpec = {
  name: "broker-config mosquitto",
  summary: "Write a Mosquitto config, password file and ACL from the cloud's device registry",
  usage: mosqUsage,
  async run(argv) {
    const a = args(
      argv,
      {
        config: { type: "string", short: "c" },
        out: { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        "tls-port": { type: "string" },
        ca: { type: "string" },
        cert: { type: "string" },
        key: { type: "string" },
        crl: { type: "string" },
        "client-certs": { type: "boolean" },
        "no-plain": { type: "boolean" },
        "run-as": { type: "string" },
      },
      mosqUsage,
    );
    const cfg = loadConfigFile(need(a.values.config, "--config FILE", mosqUsage), cloudConfigSchema);
    const dir = resolve(need(a.values.out, "--out DIR", mosqUsage));
    const tlsPort = port(a.values["tls-port"], "--tls-port");
    if (tlsPort !== undefined && !(a.values.ca && a.values.cert && a.values.key))
      throw ERR_USAGE("--tls-port needs --ca, --cert and --key (see `barnlink certs`)");
    if (a.values["no-plain"] && tlsPort === undefined) throw ERR_USAGE("--no-plain needs --tls-port");
    const { username, password } = cfg.mqtt;
    if (!username || !password)
      throw ERR_BROKER_CONFIG(
        "the cloud config has no mqtt.username/mqtt.password: the cloud needs its own broker account",
      );
    if (username !== cfg.instance)
      throw ERR_BROKER_CONFIG(
        `mqtt.username must equal instance ('${cfg.instance}'): the broker binds client id barnlink-<user> to its user`,
      );
    const db = openDb(cfg.database.url);
    try {
      await migrateToLatest(db);
      const devices = await activeCredentials(db, Date.now());
      const files = mosquittoConfig({
        host: a.values.host ?? "0.0.0.0",
        port: a.values["no-plain"] ? undefined : port(a.values.port, "--port", 1883),
        passwordFile: join(dir, "passwd"),
        aclFile: join(dir, "acl"),
        cloud: [{ username, hash: hashPassword(password) }],
        devices,
        runAs: a.values["run-as"],
        ...(tlsPort !== undefined
          ? {
              tls: {
                port: tlsPort,
                caFile: resolve(a.values.ca!),
                certFile: resolve(a.values.cert!),
                keyFile: resolve(a.values.key!),
                clientCerts: a.values["client-certs"] === true,
                ...(a.values.crl ? { crlFile: resolve(a.values.crl) } : {}),
              },
            }
          : {}),
      });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "mosquitto.conf"), files.conf);
      writeFileSync(join(dir, "passwd"), files.passwd, { mode: 0o600 });
      writeFileSync(join(dir, "acl"), files.acl);
      out(
        `wrote ${join(dir, "mosquitto.conf")}, passwd (${devices.length} device credentials + cloud) and acl`,
      );
      out(`run: mosquitto -c ${join(dir, "mosquitto.conf")}`);
    } finally {
      await db.close();
    }
    return 0;
  },
};

const secretUsage = "barnlink devices secret --config CLOUD.yaml --id DEVICE [--rotate OVERLAP]";
export const devicesSecret: CommandSpec = {
  name: "devices secret",
  summary: "Issue a registered device's broker password (shown once); --rotate keeps the old one for OVERLAP",
  usage: secretUsage,
  async run(argv) {
    const a = args(
      argv,
      { config: { type: "string", short: "c" }, id: { type: "string" }, rotate: { type: "string" } },
      secretUsage,
    );
    const cfg = loadConfigFile(need(a.values.config, "--config FILE", secretUsage), cloudConfigSchema);
    const id = need(a.values.id, "--id", secretUsage);
    const overlapMs = a.values.rotate === undefined ? undefined : durationFlag(a.values.rotate, "--rotate");
    const db = openDb(cfg.database.url);
    try {
      await migrateToLatest(db);
      const d = await db.kysely
        .selectFrom("devices")
        .select("revoked_at")
        .where("id", "=", id)
        .executeTakeFirst();
      if (!d || d.revoked_at !== null)
        throw ERR_NOT_FOUND(`device ${id} is not registered (barnlink devices add)`);
      const secret =
        overlapMs === undefined
          ? await issueBrokerSecret(db, id, Date.now())
          : await rotateBrokerSecret(db, id, Date.now(), overlapMs);
      out(secret);
    } finally {
      await db.close();
    }
    return 0;
  },
};

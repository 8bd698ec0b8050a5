import { revokeBrokerCredentials } from "../../cloud/broker/credentials.ts";
import { cloudConfigSchema } from "../../cloud/config.ts";
import { type Db, openDb } from "../../cloud/db/connect.ts";
import { migrateToLatest } from "../../cloud/db/migrate.ts";
import { revokeDevice } from "../../cloud/devices.ts";
import { createApiToken, listApiTokens, revokeApiToken } from "../../cloud/enrol/api-tokens.ts";
import { createEnrolmentToken } from "../../cloud/enrol/enrolment-tokens.ts";
import { loadConfigFile, parseDuration } from "../../core/config.ts";
import { ERR_NOT_FOUND, ERR_USAGE } from "../../core/errors.ts";
import { args, type CommandSpec, need, out } from "../cli-kit.ts";

/** Opens the cloud's database from its config, migrated, for one command. */
async function withDb<T>(
  configFile: string | undefined,
  usage: string,
  f: (db: Db, cfg: ReturnType<typeof cloudConfigSchema.parse>) => Promise<T>,
) {
  const cfg = loadConfigFile(need(configFile, "--config FILE", usage), cloudConfigSchema);
  const db = openDb(cfg.database.url);
  try {
    await migrateToLatest(db);
    return await f(db, cfg);
  } finally {
    await db.close();
  }
}

const ttlOf = (v: string | undefined) => {
  if (v === undefined) return undefined;
  try {
    const ms = parseDuration(v);
    if (ms > 0) return ms;
  } catch {}
  throw ERR_USAGE(`--ttl must be a duration such as 15m, 12h or 30d, got ${v}`);
};

const enrolUsage = "barnlink cloud enrol --config CLOUD.yaml --device ID [--ttl 15m]";
export const cloudEnrol: CommandSpec = {
  name: "cloud enrol",
  summary: "Make a single-use enrolment token for a gateway id (it runs `barnlink provision --token`)",
  usage: enrolUsage,
  async run(argv) {
    const a = args(
      argv,
      { config: { type: "string", short: "c" }, device: { type: "string" }, ttl: { type: "string" } },
      enrolUsage,
    );
    const device = need(a.values.device, "--device ID", enrolUsage);
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(device)) throw ERR_USAGE(`bad device id '${device}'`);
    return withDb(a.values.config, enrolUsage, async (db, cfg) => {
      const ttlMs = ttlOf(a.values.ttl) ?? cfg.enrol.ttl;
      if (ttlMs > cfg.enrol.maxTtl)
        throw ERR_USAGE(`--ttl is longer than enrol.maxTtl (${cfg.enrol.maxTtl} ms)`);
      const t = await createEnrolmentToken(db, { device, ttlMs, createdBy: "cli" }, Date.now());
      out(t.token);
      process.stderr.write(
        `single-use token for ${device}, valid until ${new Date(t.expiresAt).toISOString()}; on the gateway: barnlink provision --cloud URL --token <token>\n`,
      );
      return 0;
    });
  },
};

const tokenUsage =
  "barnlink cloud token create --config CLOUD.yaml --name NAME --role admin|officer|auditor [--ttl 90d] | list | revoke --id ID";
export const cloudToken: CommandSpec = {
  name: "cloud token",
  summary: "API tokens in the database: create (shown once), list, revoke",
  usage: tokenUsage,
  async run(argv) {
    const [sub, ...rest] = argv;
    const a = args(
      rest,
      {
        config: { type: "string", short: "c" },
        name: { type: "string" },
        role: { type: "string" },
        ttl: { type: "string" },
        id: { type: "string" },
      },
      tokenUsage,
    );
    if (sub === "create") {
      const name = need(a.values.name, "--name NAME", tokenUsage);
      const role = need(a.values.role, "--role ROLE", tokenUsage);
      if (role !== "admin" && role !== "officer" && role !== "auditor")
        throw ERR_USAGE(`--role must be admin, officer or auditor, got ${role}`);
      const ttlMs = ttlOf(a.values.ttl);
      return withDb(a.values.config, tokenUsage, async (db) => {
        const t = await createApiToken(db, { name, role, ttlMs, createdBy: "cli" }, Date.now());
        out(t.token);
        process.stderr.write(
          `token ${t.id} '${name}' (${role})${t.expiresAt ? `, valid until ${new Date(t.expiresAt).toISOString()}` : ", no expiry"}: shown once\n`,
        );
        return 0;
      });
    }
    if (sub === "list")
      return withDb(a.values.config, tokenUsage, async (db) => {
        const iso = (t: number | null) => (t === null ? "-" : new Date(t).toISOString());
        for (const t of await listApiTokens(db))
          out(
            `${t.id}  ${t.name}  ${t.role}  expires ${iso(t.expiresAt)}  last used ${iso(t.lastUsedAt)}${t.revokedAt ? `  REVOKED ${iso(t.revokedAt)}` : ""}`,
          );
        return 0;
      });
    if (sub === "revoke") {
      const id = need(a.values.id, "--id ID", tokenUsage);
      return withDb(a.values.config, tokenUsage, async (db) => {
        if (!(await revokeApiToken(db, id, Date.now())))
          throw ERR_NOT_FOUND(`no live API token with id ${id}`);
        out(`revoked token ${id}`);
        return 0;
      });
    }
    throw ERR_USAGE(`unknown cloud token subcommand '${sub ?? ""}'; usage: ${tokenUsage}`);
  },
};

const revokeUsage = "barnlink devices revoke --config CLOUD.yaml --id DEVICE";
export const devicesRevoke: CommandSpec = {
  name: "devices revoke",
  summary: "Revoke a device: its data is refused and its broker logins stop working",
  usage: revokeUsage,
  async run(argv) {
    const a = args(argv, { config: { type: "string", short: "c" }, id: { type: "string" } }, revokeUsage);
    const id = need(a.values.id, "--id DEVICE", revokeUsage);
    return withDb(a.values.config, revokeUsage, async (db) => {
      const now = Date.now();
      if (!(await revokeDevice(db, id, now))) throw ERR_NOT_FOUND(`device ${id} is not registered`);
      const n = await revokeBrokerCredentials(db, id, now);
      out(
        `revoked ${id} (${n} broker login${n === 1 ? "" : "s"}); a running cloud refuses its data within 5 s; with Mosquitto, regenerate (barnlink broker-config mosquitto) and reload it`,
      );
      return 0;
    });
  },
};

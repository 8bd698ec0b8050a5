import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../core/keys.ts";
import { silentLogger } from "../../core/log.ts";
import { cliInProcess } from "../../test/helpers/cli.ts";
import { freshDb, tmpDir } from "../../test/helpers/services.ts";
import { hashToken } from "../api/auth.ts";
import { buildServer } from "../api/server.ts";
import { cloudConfigSchema } from "../config.ts";
import type { CloudContext } from "../context.ts";
import { openDb } from "../db/connect.ts";
import { migrateToLatest } from "../db/migrate.ts";
import { DeviceKeys } from "../devices.ts";
import { DbTokens } from "./api-tokens.ts";
import { enrolRoutes } from "./routes.ts";

const ADMIN = "config-admin-token-0123456789";

/** API tokens in the database (#13): made by an admin, hashed, with a role, expiry, revocation, last use. */
describe("API tokens in the database", () => {
  let skew = 0;
  let fresh: Awaited<ReturnType<typeof freshDb>>;
  let app: Awaited<ReturnType<typeof buildServer>>;
  const call = async (method: string, url: string, token: string, payload?: unknown) => {
    const r = await app.inject({
      method: method as "GET",
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });
    return { status: r.statusCode, json: r.json() as { error?: { code: string } } & Record<string, unknown> };
  };

  beforeAll(async () => {
    fresh = await freshDb("sqlite");
    const now = () => Date.now() + skew;
    const ctx: CloudContext = {
      db: fresh.db,
      log: silentLogger,
      key: generateKeyPair(),
      now,
      sendCommand: async () => {},
    };
    const cfg = cloudConfigSchema.parse({});
    const enrolment = enrolRoutes(cfg.enrol, ctx, new DeviceKeys(fresh.db));
    app = await buildServer(ctx, [{ name: "ops", role: "admin", sha256: hashToken(ADMIN) }], {
      modules: [enrolment.module],
      publicApi: enrolment.publicApi,
      tokenStore: new DbTokens(fresh.db, now),
      authFailuresPerMinute: 1000,
    });
  });
  afterAll(async () => {
    await app?.close();
    await fresh?.drop();
  });

  it("an admin makes a scoped token; it works, is hashed, records its last use; config tokens keep working", async () => {
    const made = await call("POST", "/api/v1/tokens", ADMIN, {
      name: "auditor-wu",
      role: "auditor",
      ttl: "1h",
    });
    expect(made.status).toBe(201);
    const token = made.json.token as string;
    expect(token).toMatch(/^blt_/);
    const rows = await fresh.db.kysely.selectFrom("api_tokens").selectAll().execute();
    expect(rows.map((r) => r.token_sha256)).toEqual([hashToken(token)]);
    expect(JSON.stringify(rows)).not.toContain(token);
    expect((await call("GET", "/api/v1/devices", token)).status).toBe(200);
    const listed = await call("GET", "/api/v1/tokens", ADMIN);
    const info = (listed.json.tokens as Array<Record<string, unknown>>)[0]!;
    expect(info).toMatchObject({ name: "auditor-wu", role: "auditor", revokedAt: null, createdBy: "ops" });
    expect(info.lastUsedAt).toEqual(expect.any(Number));
    expect(JSON.stringify(listed.json)).not.toContain(token);
    expect((await call("GET", "/api/v1/devices", ADMIN)).status).toBe(200);
  });

  it("a token without the role gets 403; expired and revoked tokens get 401 with their codes", async () => {
    const auditor = (await call("POST", "/api/v1/tokens", ADMIN, { name: "a2", role: "auditor", ttl: "10m" }))
      .json.token as string;
    const forbidden = await call("POST", "/api/v1/enrolments", auditor, { device: "barn-x" });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json.error?.code).toBe("BL_FORBIDDEN");
    expect((await call("POST", "/api/v1/tokens", auditor, { name: "me", role: "admin" })).status).toBe(403);

    skew += 11 * 60_000;
    try {
      const expired = await call("GET", "/api/v1/devices", auditor);
      expect(expired.status).toBe(401);
      expect(expired.json.error?.code).toBe("BL_TOKEN_EXPIRED");
    } finally {
      skew -= 11 * 60_000;
    }

    const made = await call("POST", "/api/v1/tokens", ADMIN, { name: "officer-li", role: "officer" });
    const officer = made.json.token as string;
    expect((await call("GET", "/api/v1/devices", officer)).status).toBe(200);
    expect((await call("DELETE", `/api/v1/tokens/${made.json.id}`, ADMIN)).status).toBe(200);
    const revoked = await call("GET", "/api/v1/devices", officer);
    expect(revoked.status).toBe(401);
    expect(revoked.json.error?.code).toBe("BL_TOKEN_REVOKED");
    const unknown = await call("GET", "/api/v1/devices", "blt_never-issued-token-xxxxxxxx");
    expect(unknown.json.error?.code).toBe("BL_UNAUTHORIZED");
  });

  it("the CLI creates, lists and revokes tokens, and makes enrolment tokens", async () => {
    const dir = tmpDir();
    const dbFile = join(dir, "cloud.db");
    const db = openDb(dbFile);
    await migrateToLatest(db);
    await db.close();
    const cfgFile = join(dir, "cloud.yaml");
    writeFileSync(cfgFile, `database: { url: ${dbFile} }\nkeyFile: ${join(dir, "cloud.key")}\n`);
    const c = await cliInProcess([
      "cloud",
      "token",
      "create",
      "--config",
      cfgFile,
      "--name",
      "bank",
      "--role",
      "auditor",
      "--ttl",
      "30d",
    ]);
    expect(c.code).toBe(0);
    expect(c.stdout.trim()).toMatch(/^blt_/);
    const l = await cliInProcess(["cloud", "token", "list", "--config", cfgFile]);
    const id = l.stdout.split(/\s+/)[0]!;
    expect(l.stdout).toMatch(/bank {2}auditor {2}expires 20/);
    expect((await cliInProcess(["cloud", "token", "revoke", "--config", cfgFile, "--id", id])).code).toBe(0);
    expect((await cliInProcess(["cloud", "token", "list", "--config", cfgFile])).stdout).toMatch(/REVOKED/);
    const bad = await cliInProcess([
      "cloud",
      "token",
      "create",
      "--config",
      cfgFile,
      "--name",
      "x",
      "--role",
      "root",
    ]);
    expect(bad.code).toBe(2);
    const e = await cliInProcess([
      "cloud",
      "enrol",
      "--config",
      cfgFile,
      "--device",
      "barn-9",
      "--ttl",
      "15m",
    ]);
    expect(e.code).toBe(0);
    expect(e.stdout.trim()).toMatch(/^ble_/);
    expect(e.stderr).toMatch(/single-use token for barn-9, valid until/);
  });
});

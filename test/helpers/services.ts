import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { type Db, openDb } from "../../cloud/db/connect.ts";
import { migrateToLatest } from "../../cloud/db/migrate.ts";

export const IN_CI = process.env.CI === "true";
export const PG_URL = process.env.BARNLINK_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";
export const MOSQUITTO_URL = process.env.BARNLINK_TEST_MQTT ?? "mqtt://127.0.0.1:1883";

export function tcpReachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

/**
 * Whether a real service is there. Off CI a missing service skips its tests with a printed reason;
 * under CI=true a missing service is a failure, so CI can never pass by skipping.
 */
export async function serviceAvailable(name: string, probe: () => Promise<boolean>): Promise<boolean> {
  const ok = await probe().catch(() => false);
  if (ok) return true;
  if (IN_CI) throw new Error(`${name} is required under CI=true but is not reachable`);
  console.warn(`SKIP: ${name} is not reachable on this machine; its tests are skipped (they run in CI)`);
  return false;
}

export const postgresAvailable = () =>
  serviceAvailable("PostgreSQL (127.0.0.1:5432)", () => tcpReachable("127.0.0.1", 5432));
export const mosquittoAvailable = () =>
  serviceAvailable("Mosquitto (127.0.0.1:1883)", () => tcpReachable("127.0.0.1", 1883));

export function tmpDir(prefix = "barnlink-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A fresh, migrated cloud database: a SQLite file, or a PostgreSQL schema of its own. */
export async function freshDb(
  dialect: "sqlite" | "postgres",
): Promise<{ db: Db; url: string; schema?: string; drop(): Promise<void> }> {
  if (dialect === "sqlite") {
    const url = join(tmpDir(), "cloud.db");
    const db = openDb(url);
    await migrateToLatest(db);
    return { db, url, drop: () => db.close() };
  }
  const schema = `t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const db = openDb(PG_URL, { schema });
  await migrateToLatest(db);
  return {
    db,
    url: PG_URL,
    schema,
    async drop() {
      await db.close();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop schema ${schema} cascade`);
      await c.end();
    },
  };
}

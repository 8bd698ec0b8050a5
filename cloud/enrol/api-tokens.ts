import { randomBytes } from "node:crypto";
import type { Principal, Role } from "../api/auth.ts";
import type { Db } from "../db/connect.ts";
import { newToken, sha256Hex } from "./enrolment-tokens.ts";
import { ERR_TOKEN_EXPIRED, ERR_TOKEN_REVOKED } from "./errors.ts";

export interface ApiTokenInfo {
  id: string;
  name: string;
  role: Role;
  createdBy: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

/** An API token made by an admin: shown once, stored as its SHA-256, with a role and an optional expiry. */
export async function createApiToken(
  db: Db,
  o: { name: string; role: Role; ttlMs?: number; createdBy: string },
  now: number,
): Promise<ApiTokenInfo & { token: string }> {
  const token = newToken("blt_");
  const info: ApiTokenInfo = {
    id: randomBytes(8).toString("hex"),
    name: o.name,
    role: o.role,
    createdBy: o.createdBy,
    createdAt: now,
    expiresAt: o.ttlMs === undefined ? null : now + o.ttlMs,
    revokedAt: null,
    lastUsedAt: null,
  };
  await db.kysely
    .insertInto("api_tokens")
    .values({
      id: info.id,
      token_sha256: sha256Hex(token),
      name: info.name,
      role: info.role,
      created_by: info.createdBy,
      created_at: now,
      expires_at: info.expiresAt,
      revoked_at: null,
      last_used_at: null,
    })
    .execute();
  return { ...info, token };
}

export async function listApiTokens(db: Db): Promise<ApiTokenInfo[]> {
  const rows = await db.kysely.selectFrom("api_tokens").selectAll().orderBy("created_at").execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    role: r.role as Role,
    createdBy: r.created_by,
    createdAt: Number(r.created_at),
    expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  }));
}

export async function revokeApiToken(db: Db, id: string, now: number): Promise<boolean> {
  const r = await db.kysely
    .updateTable("api_tokens")
    .set({ revoked_at: now })
    .where("id", "=", id)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/**
 * Looks bearer tokens up in `api_tokens` (by SHA-256: the hash is the index, and a 256-bit random
 * token cannot be guessed through timing). Expired and revoked tokens are refused with their own
 * 401 codes; `last_used_at` is written at most once a minute per token.
 */
export class DbTokens {
  private readonly lastWrite = new Map<string, number>();
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}
  /** The principal, null for a token not in the table; throws for an expired or revoked one. */
  async principal(token: string): Promise<Principal | null> {
    const row = await this.db.kysely
      .selectFrom("api_tokens")
      .select(["id", "name", "role", "expires_at", "revoked_at"])
      .where("token_sha256", "=", sha256Hex(token))
      .executeTakeFirst();
    if (!row) return null;
    const now = this.now();
    if (row.revoked_at !== null)
      throw ERR_TOKEN_REVOKED(
        `token '${row.name}' was revoked at ${new Date(Number(row.revoked_at)).toISOString()}`,
      );
    if (row.expires_at !== null && Number(row.expires_at) <= now)
      throw ERR_TOKEN_EXPIRED(
        `token '${row.name}' expired at ${new Date(Number(row.expires_at)).toISOString()}`,
      );
    if (now - (this.lastWrite.get(row.id) ?? 0) >= 60_000) {
      this.lastWrite.set(row.id, now);
      await this.db.kysely
        .updateTable("api_tokens")
        .set({ last_used_at: now })
        .where("id", "=", row.id)
        .execute();
    }
    return { name: row.name, role: row.role as Role };
  }
}

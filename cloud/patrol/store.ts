import { createHash } from "node:crypto";
import type { BodyOf } from "../../sync/kinds.ts";
import type { CloudContext } from "../context.ts";

export type InspectionBody = BodyOf<"inspection">;
export type RoundBody = BodyOf<"round">;
export interface Stored<B> {
  stream: string;
  seq: number;
  t: number;
  body: B;
}

/** A robot's records of one kind, oldest first, optionally from a wall time on (index records_kind_time). */
export async function recordsOfKind<B>(
  ctx: CloudContext,
  device: string,
  kind: "inspection" | "round",
  from = 0,
  to = Number.MAX_SAFE_INTEGER,
): Promise<Array<Stored<B>>> {
  const rows = await ctx.db.kysely
    .selectFrom("records")
    .select(["stream", "seq", "t_wall", "body"])
    .where("device", "=", device)
    .where("kind", "=", kind)
    .where("t_wall", ">=", from)
    .where("t_wall", "<=", to)
    .orderBy("t_wall")
    .orderBy("seq")
    .execute();
  return rows.map((r) => ({
    stream: r.stream,
    seq: Number(r.seq),
    t: Number(r.t_wall),
    body: JSON.parse(r.body) as B,
  }));
}

/** Devices that have sent at least one inspection: the patrol robots. */
export async function patrolRobots(ctx: CloudContext): Promise<string[]> {
  const rows = await ctx.db.kysely
    .selectFrom("records")
    .select("device")
    .distinct()
    .where("kind", "=", "inspection")
    .orderBy("device")
    .execute();
  return rows.map((r) => r.device);
}

/**
 * A frame kept as media, by its SHA-256 (named in an inspection's check). The hash is checked
 * again on the bytes: what the operator sees is exactly the frame the robot hashed.
 */
export async function frameBySha(
  ctx: CloudContext,
  device: string,
  sha: string,
): Promise<{ mime: string; bytes: Buffer } | undefined> {
  const rows = await ctx.db.kysely
    .selectFrom("records")
    .select("body")
    .where("device", "=", device)
    .where("kind", "=", "media")
    .where("body", "like", `%"sha256":"${sha}"%`)
    .limit(1)
    .execute();
  const b = rows[0] ? (JSON.parse(rows[0].body) as BodyOf<"media">) : undefined;
  if (!b?.dataB64) return undefined;
  const bytes = Buffer.from(b.dataB64, "base64");
  if (createHash("sha256").update(bytes).digest("hex") !== sha) return undefined;
  return { mime: b.mime, bytes };
}

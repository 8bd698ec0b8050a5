import { createHash } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import { canonicalJson } from "../../core/canonical.ts";
import { ERR_CONFLICT } from "../../core/errors.ts";
import type { DB } from "../db/schema.ts";

/**
 * Idempotency keys for API writes (header `Idempotency-Key`). The key is stored with a hash of the
 * request (method, path, canonical body) before the write runs: a retry with the same body gets the
 * first response; the same key with a different body, or while the first is still running, is a
 * 409. A failed write releases its key so it can be retried. Keys are scoped by principal.
 */
export async function idempotent(
  db: Kysely<DB>,
  req: FastifyRequest,
  reply: FastifyReply,
  status: number,
  run: () => Promise<unknown>,
): Promise<unknown> {
  const header = req.headers["idempotency-key"];
  const raw = Array.isArray(header) ? header[0] : header;
  if (!raw) {
    const out = await run();
    reply.code(status);
    return out;
  }
  const key = `${req.principal?.name ?? "-"}:${raw.slice(0, 200)}`;
  const hash = createHash("sha256")
    .update(`${req.method}\n${req.url}\n${canonicalJson(req.body ?? null)}`)
    .digest("hex");
  const inserted = await db
    .insertInto("lending_idempotency")
    .values({
      key,
      method: req.method,
      path: req.url,
      request_hash: hash,
      status_code: 0,
      response: null,
      created_at: Date.now(),
    })
    .onConflict((oc) => oc.column("key").doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) {
    const prior = await db
      .selectFrom("lending_idempotency")
      .selectAll()
      .where("key", "=", key)
      .executeTakeFirstOrThrow();
    if (prior.request_hash !== hash) {
      throw ERR_CONFLICT(
        `Idempotency-Key '${raw}' was used for a different request (${prior.method} ${prior.path})`,
      );
    }
    if (prior.response === null)
      throw ERR_CONFLICT(`a request with Idempotency-Key '${raw}' is still being processed`);
    reply.code(prior.status_code).header("idempotent-replayed", "true");
    return JSON.parse(prior.response);
  }
  try {
    const out = await run();
    await db
      .updateTable("lending_idempotency")
      .set({ status_code: status, response: JSON.stringify(out ?? null) })
      .where("key", "=", key)
      .execute();
    reply.code(status);
    return out;
  } catch (e) {
    await db.deleteFrom("lending_idempotency").where("key", "=", key).execute();
    throw e;
  }
}

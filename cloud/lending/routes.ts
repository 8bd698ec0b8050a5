import type { FastifyInstance, FastifyRequest } from "fastify";
import { NoResultError } from "kysely";
import { BarnlinkError, ERR_NOT_FOUND } from "../../core/errors.ts";
import { requireRole } from "../api/auth.ts";
import type { CloudContext } from "../context.ts";
import { appendAudit } from "./audit.ts";
import { ERR_LENDING_DUPLICATE } from "./errors.ts";
import { idempotent } from "./idempotency.ts";
import { isUniqueViolation } from "./money-tx.ts";
import { type LendingRoute, routeTable } from "./route-table.ts";
import { servicingRoutes } from "./route-table-servicing.ts";

/** Every lending route: the core table and servicing (payoff, reconciliation, audit, exports). */
export const allLendingRoutes: LendingRoute[] = [...routeTable, ...servicingRoutes];

/**
 * A database refusal the client caused is a coded 4xx, never a 500: a taken unique key is a 409,
 * a row the request named that is not there a 404.
 */
function clientError(e: unknown, req: FastifyRequest): unknown {
  if (e instanceof BarnlinkError) return e;
  if (isUniqueViolation(e))
    return ERR_LENDING_DUPLICATE(`${req.method} ${req.url}: that id or reference already exists`);
  if (e instanceof NoResultError)
    return ERR_NOT_FOUND(`${req.method} ${req.url}: an object it names does not exist`);
  return e;
}

/**
 * The lending API as a Fastify plugin. The server's requireAuth hook gives 401 without a token;
 * here writes need the officer role and reads officer or auditor (admin passes both), so an
 * auditor's write is a 403. Every write honours an Idempotency-Key header and is recorded in the
 * hash-chained audit log with who, when, the request and its result (or error).
 */
export async function lendingRoutes(app: FastifyInstance, ctx: CloudContext): Promise<void> {
  for (const r of allLendingRoutes) {
    app.route({
      method: r.method,
      url: r.path,
      preHandler: r.write ? requireRole("officer") : requireRole("officer", "auditor"),
      handler: async (req, reply) => {
        if (!r.write) {
          try {
            return await r.handler(ctx, req, reply);
          } catch (e) {
            throw clientError(e, req);
          }
        }
        const audit = (status: number, result: unknown) =>
          appendAudit(ctx.db.kysely, {
            at: ctx.now(),
            actor: req.principal?.name ?? "?",
            role: req.principal?.role ?? "?",
            action: `${r.method} ${r.path}`,
            request: {
              params: req.params ?? {},
              query: req.query ?? {},
              body: req.body ?? null,
              idempotencyKey: req.headers["idempotency-key"] ?? null,
            },
            status,
            result,
          });
        try {
          const out = await idempotent(ctx.db.kysely, req, reply, r.status ?? 200, () =>
            r.handler(ctx, req, reply),
          );
          await audit(reply.statusCode, out);
          return out;
        } catch (e0) {
          const e = clientError(e0, req);
          const status = e instanceof BarnlinkError ? e.statusCode : 500;
          await audit(status, {
            error: e instanceof BarnlinkError ? { code: e.code, message: e.message } : "internal error",
          }).catch((err: unknown) => ctx.log.error({ err }, "lending: audit append failed"));
          throw e;
        }
      },
    });
  }
}

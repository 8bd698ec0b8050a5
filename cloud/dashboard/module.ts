import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { fromRoot } from "../../core/paths.ts";
import { requireRole } from "../api/auth.ts";
import type { ApiModule } from "../api/server.ts";
import { parseRequest } from "../api/validate.ts";
import type { CloudContext } from "../context.ts";
import { portfolioView } from "./portfolio.ts";
import { batchSeries } from "./series.ts";

const ASSETS = fromRoot("cloud/dashboard/assets");
const UPLOT = fromRoot("node_modules/uplot/dist");
const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};
const ASSET_FILES = [
  "index.html",
  "app.js",
  "api.js",
  "charts.js",
  "batch.js",
  "tranches.js",
  "findings.js",
  "alerts.js",
  "portfolio.js",
  "overrides.js",
  "payments.js",
  "devices.js",
  "fleet.js",
  "patrol.js",
  "patrol.css",
  "style.css",
];
export const ackBody = z.strictObject({ ids: z.array(z.string().min(1).max(100)).min(1).max(1000) });
export const seriesQuery = z.strictObject({ points: z.coerce.number().int().min(10).max(2000).optional() });

/**
 * The lender's dashboard: static pages (plain ES modules and CSS from assets/, uPlot from
 * node_modules; nothing from a CDN) outside the auth scope, and read-only JSON routes under
 * /api/v1/dashboard that need an officer or auditor token like every lending read.
 */
export function dashboardModule(): ApiModule {
  // Read once at start: the files are small and a Pi-sized cloud should not hit the disk per request.
  const files = new Map<string, { type: string; body: Buffer }>();
  for (const f of ASSET_FILES)
    files.set(`/dash/${f}`, { type: TYPES[f.split(".").pop()!]!, body: readFileSync(join(ASSETS, f)) });
  files.set("/vendor/uplot.esm.js", { type: TYPES.js!, body: readFileSync(join(UPLOT, "uPlot.esm.js")) });
  files.set("/vendor/uplot.min.css", { type: TYPES.css!, body: readFileSync(join(UPLOT, "uPlot.min.css")) });
  const index = files.get("/dash/index.html")!;

  return {
    async publicRoutes(app: FastifyInstance) {
      app.get("/", async (_req, reply) => reply.type(index.type).send(index.body));
      for (const [path, f] of files)
        app.get(path, async (_req, reply) =>
          reply.type(f.type).header("cache-control", "no-cache").send(f.body),
        );
    },
    async routes(app: FastifyInstance, ctx: CloudContext) {
      const read = { preHandler: requireRole("officer", "auditor") };
      app.get("/api/v1/dashboard/me", async (req) => ({
        name: req.principal?.name,
        role: req.principal?.role,
        canWrite: req.principal?.role === "admin" || req.principal?.role === "officer",
        now: ctx.now(),
      }));
      app.get("/api/v1/dashboard/portfolio", read, async () => portfolioView(ctx));
      // Bulk acknowledge (a group of alerts of one batch and cause): one statement, so a group is
      // acknowledged all at once or not at all; already-acknowledged alerts keep who and when.
      app.post("/api/v1/dashboard/alerts/ack", { preHandler: requireRole("officer") }, async (req) => {
        const b = parseRequest(ackBody, req.body ?? {}, "body");
        const r = await ctx.db.kysely
          .updateTable("lending_alerts")
          .set({ acked_by: req.principal?.name ?? "?", acked_at: ctx.now() })
          .where("id", "in", b.ids)
          .where("acked_at", "is", null)
          .executeTakeFirst();
        return { acknowledged: Number(r.numUpdatedRows) };
      });
      app.get("/api/v1/dashboard/payment-files", read, async () =>
        ctx.db.kysely
          .selectFrom("lending_payment_files")
          .select(["id", "n", "ctrl_sum_fen", "created_at"])
          .orderBy("created_at", "desc")
          .limit(100)
          .execute(),
      );
      app.get("/api/v1/dashboard/batches/:id/series", read, async (req) => {
        const q = parseRequest(seriesQuery, req.query, "query");
        return batchSeries(ctx, (req.params as { id: string }).id, q.points);
      });
    },
  };
}

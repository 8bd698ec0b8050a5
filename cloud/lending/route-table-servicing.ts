import type { FastifyRequest } from "fastify";
import { z } from "zod";
import { ERR_NOT_FOUND } from "../../core/errors.ts";
import { parseRequest } from "../api/validate.ts";
import { readAudit, verifyAudit } from "./audit.ts";
import { closeOverrideInput } from "./domain.ts";
import { loanTape, loanTapeCsv, statementCsv, statementPdf } from "./exports.ts";
import { approveOverride, closeOverride } from "./override.ts";
import { payoffQuote } from "./payoff.ts";
import { importStatusReport, reconcileOrder, reexportOrder } from "./reconcile.ts";
import { asOfQuery, type LendingRoute } from "./route-table.ts";
import { servicingTick } from "./servicing.ts";
import { recoverBatch, writeOffBatch } from "./write-off.ts";

const id = (req: FastifyRequest) => (req.params as { id: string }).id;
const body = <S extends z.ZodType>(s: S, req: FastifyRequest) => parseRequest(s, req.body ?? {}, "body");
const obj = z.looseObject({});
const list = z.array(obj);
const who = (req: FastifyRequest) => req.principal?.name ?? "?";

const overridesQuery = z.strictObject({
  status: z.enum(["pending", "approved", "applied", "rejected", "withdrawn", "lapsed"]).optional(),
  trancheId: z.string().max(200).optional(),
});
const reconcileInput = z.discriminatedUnion("status", [
  z.strictObject({ status: z.literal("settled") }),
  z.strictObject({ status: z.literal("returned"), reason: z.string().min(2).max(500) }),
]);
const reportInput = z.strictObject({ xml: z.string().min(20).max(2_000_000) });
const writeOffInput = z.strictObject({ reason: z.string().min(10).max(2000) });
const recoveryInput = z.strictObject({
  amountFen: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  reference: z.string().min(1).max(64),
});
const pricesInput = z.strictObject({
  series: z.string().min(1).max(60),
  source: z.string().min(1).max(200),
  points: z
    .array(
      z.strictObject({
        at: z.union([z.number().int(), z.iso.datetime().transform((s) => Date.parse(s))]),
        fenPerKg: z.number().int().positive(),
      }),
    )
    .min(1)
    .max(10_000),
});
const auditQuery = z.strictObject({
  afterSeq: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().positive().max(1000).default(100),
});
const formatQuery = z.strictObject({
  format: z.enum(["json", "csv"]).default("json"),
  asOf: asOfQuery.shape.asOf,
});

/** Servicing, reconciliation, audit and export routes (issue #11); mounted with the core table. */
export const servicingRoutes: LendingRoute[] = [
  {
    method: "GET",
    path: "/api/v1/overrides",
    summary: "Overrides, newest first (?status=pending for the approval queue)",
    write: false,
    query: overridesQuery,
    response: list,
    handler: async (ctx, req) => {
      const q = parseRequest(overridesQuery, req.query, "query");
      let sel = ctx.db.kysely.selectFrom("lending_overrides").selectAll().orderBy("created_at", "desc");
      if (q.status) sel = sel.where("status", "=", q.status);
      if (q.trancheId) sel = sel.where("tranche_id", "=", q.trancheId);
      return sel.execute();
    },
  },
  {
    method: "POST",
    path: "/api/v1/overrides/:id/approve",
    summary: "Approve a pending release override (checker ≠ maker; above the plan, two checkers)",
    write: true,
    response: obj,
    handler: (ctx, req) => approveOverride(ctx.db.kysely, id(req), who(req), ctx.now()),
  },
  {
    method: "POST",
    path: "/api/v1/overrides/:id/reject",
    summary: "Reject a pending override (another officer than its maker), with a reason",
    write: true,
    body: closeOverrideInput,
    response: obj,
    handler: (ctx, req) =>
      closeOverride(
        ctx.db.kysely,
        id(req),
        "rejected",
        who(req),
        body(closeOverrideInput, req).reason,
        ctx.now(),
      ),
  },
  {
    method: "POST",
    path: "/api/v1/overrides/:id/withdraw",
    summary: "Withdraw a pending override (its maker only), with a reason",
    write: true,
    body: closeOverrideInput,
    response: obj,
    handler: (ctx, req) =>
      closeOverride(
        ctx.db.kysely,
        id(req),
        "withdrawn",
        who(req),
        body(closeOverrideInput, req).reason,
        ctx.now(),
      ),
  },
  {
    method: "GET",
    path: "/api/v1/batches/:id/payoff",
    summary:
      "Payoff quote as of a date (?asOf=): principal, interest to that day, fees, penalty, overdue, classification",
    write: false,
    query: asOfQuery,
    response: obj,
    handler: (ctx, req) =>
      payoffQuote(ctx.db.kysely, id(req), parseRequest(asOfQuery, req.query, "query").asOf ?? ctx.now()),
  },
  {
    method: "POST",
    path: "/api/v1/batches/:id/write-off",
    summary: "Write a batch off (allowance first, then expense); frees its principal from the limit",
    write: true,
    status: 201,
    body: writeOffInput,
    response: obj,
    handler: (ctx, req) =>
      writeOffBatch(ctx.db.kysely, id(req), body(writeOffInput, req).reason, who(req), ctx.now()),
  },
  {
    method: "POST",
    path: "/api/v1/batches/:id/recoveries",
    summary: "Record money recovered on a written-off batch",
    write: true,
    status: 201,
    body: recoveryInput,
    response: obj,
    handler: (ctx, req) => {
      const b = body(recoveryInput, req);
      return recoverBatch(ctx.db.kysely, id(req), b.amountFen, b.reference, ctx.now());
    },
  },
  {
    method: "POST",
    path: "/api/v1/payment-orders/:id/reconcile",
    summary:
      "Manual bank reconciliation: settled, or returned with the bank's reason (reverses the cash posting)",
    write: true,
    body: reconcileInput,
    response: obj,
    handler: (ctx, req) => reconcileOrder(ctx.db.kysely, id(req), body(reconcileInput, req), ctx.now()),
  },
  {
    method: "POST",
    path: "/api/v1/payment-orders/:id/reexport",
    summary: "Put a returned payment order into the next payment file",
    write: true,
    response: obj,
    handler: (ctx, req) => reexportOrder(ctx.db.kysely, id(req)),
  },
  {
    method: "POST",
    path: "/api/v1/payment-files/status-reports",
    summary: "Import the bank's pain.002.001.03 status report ({xml}): settles or returns the file's orders",
    write: true,
    status: 201,
    body: reportInput,
    response: obj,
    handler: (ctx, req) => importStatusReport(ctx.db.kysely, body(reportInput, req).xml, ctx.now()),
  },
  {
    method: "GET",
    path: "/api/v1/payment-orders",
    summary: "Payment orders with their status, file and last error or return reason",
    write: false,
    response: list,
    handler: (ctx) =>
      ctx.db.kysely.selectFrom("lending_payment_orders").selectAll().orderBy("created_at").execute(),
  },
  {
    method: "POST",
    path: "/api/v1/prices",
    summary: "Import points of a live-price series (collateral revaluation)",
    write: true,
    status: 201,
    body: pricesInput,
    response: obj,
    handler: async (ctx, req) => {
      const p = body(pricesInput, req);
      for (const pt of p.points) {
        await ctx.db.kysely
          .insertInto("lending_prices")
          .values({ series: p.series, at: pt.at, fen_per_kg: pt.fenPerKg, source: p.source })
          .onConflict((oc) =>
            oc.columns(["series", "at"]).doUpdateSet({ fen_per_kg: pt.fenPerKg, source: p.source }),
          )
          .execute();
      }
      return { series: p.series, points: p.points.length };
    },
  },
  {
    method: "POST",
    path: "/api/v1/servicing/run",
    summary: "Run the daily servicing job now (month-end accrual, penalty, fees, overdue, provisioning)",
    write: true,
    response: list,
    handler: async (ctx) => (await servicingTick(ctx.db.kysely, ctx.now())).filter((x) => x !== null),
  },
  {
    method: "GET",
    path: "/api/v1/audit",
    summary: "The audit log (who, when, request and result), oldest first from ?afterSeq",
    write: false,
    query: auditQuery,
    response: list,
    handler: (ctx, req) => {
      const q = parseRequest(auditQuery, req.query, "query");
      return readAudit(ctx.db.kysely, q.afterSeq, q.limit);
    },
  },
  {
    method: "GET",
    path: "/api/v1/audit/verify",
    summary: "Recompute the audit log's hash chain",
    write: false,
    response: obj,
    handler: (ctx) => verifyAudit(ctx.db.kysely),
  },
  {
    method: "GET",
    path: "/api/v1/loan-tape",
    summary:
      "Loan tape per batch (limit, released, outstanding, accrued, overdue, classification, collateral, LTV): ?format=json|csv",
    write: false,
    query: formatQuery,
    response: z.union([list, z.string()]),
    handler: async (ctx, req, reply) => {
      const q = parseRequest(formatQuery, req.query, "query");
      const rows = await loanTape(ctx, q.asOf ?? ctx.now());
      if (q.format === "json") return rows;
      reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", 'attachment; filename="loan-tape.csv"');
      return loanTapeCsv(rows);
    },
  },
  {
    method: "GET",
    path: "/api/v1/facilities/:id/statement.csv",
    summary: "The facility's ledger statement as CSV (?asOf=)",
    write: false,
    query: asOfQuery,
    response: z.string(),
    handler: async (ctx, req, reply) => {
      const asOf = parseRequest(asOfQuery, req.query, "query").asOf ?? ctx.now();
      reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", `attachment; filename="statement-${id(req)}.csv"`);
      return statementCsv(ctx.db.kysely, id(req), asOf);
    },
  },
  {
    method: "GET",
    path: "/api/v1/facilities/:id/statement.pdf",
    summary: "The facility's statement as PDF (?asOf=)",
    write: false,
    query: asOfQuery,
    response: z.string(),
    handler: async (ctx, req, reply) => {
      const asOf = parseRequest(asOfQuery, req.query, "query").asOf ?? ctx.now();
      const pdf = await statementPdf(ctx.db.kysely, id(req), asOf);
      if (!pdf) throw ERR_NOT_FOUND(`no facility ${id(req)}`);
      reply
        .type("application/pdf")
        .header("content-disposition", `attachment; filename="statement-${id(req)}.pdf"`);
      return pdf;
    },
  },
];

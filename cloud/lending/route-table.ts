import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { ERR_NOT_FOUND } from "../../core/errors.ts";
import { parseRequest } from "../api/validate.ts";
import type { CloudContext } from "../context.ts";
import { findingsView } from "../quality/view.ts";
import {
  batchInput,
  borrowerInput,
  exportInput,
  facilityInput,
  overrideInput,
  repayInput,
  supplierInput,
} from "./domain.ts";
import { requestOverride } from "./override.ts";
import { exportPaymentFile } from "./payments.ts";
import { repayBatch } from "./repay.ts";
import { createBatch, createBorrower, createFacility, createSupplier } from "./setup.ts";
import { batchView, facilityView, ledgerView, statementView, trancheView } from "./views.ts";

/** One API route: its schemas feed both validation and the OpenAPI document. */
export interface LendingRoute {
  method: "GET" | "POST";
  path: string;
  summary: string;
  /** Writes need the officer role (admin always passes); reads also allow auditors. */
  write: boolean;
  status?: number;
  body?: z.ZodType;
  query?: z.ZodType;
  response: z.ZodType;
  handler(ctx: CloudContext, req: FastifyRequest, reply: FastifyReply): Promise<unknown>;
}

const id = (req: FastifyRequest) => (req.params as { id: string }).id;
const body = <S extends z.ZodType>(s: S, req: FastifyRequest) => parseRequest(s, req.body, "body");
const obj = z.looseObject({});
const list = z.array(obj);
export const asOfQuery = z.strictObject({
  asOf: z
    .union([z.iso.datetime(), z.iso.date(), z.string().regex(/^\d+$/)])
    .transform((s) =>
      /^\d+$/.test(s) ? Number(s) : Date.parse(s.length === 10 ? `${s}T23:59:59.999+08:00` : s),
    )
    .optional(),
});
const findingsQuery = z.strictObject({ records: z.enum(["true", "false"]).optional() });
const alertsQuery = z.strictObject({
  open: z.enum(["true", "false"]).optional(),
  batchId: z.string().optional(),
});

export const routeTable: LendingRoute[] = [
  {
    method: "POST",
    path: "/api/v1/borrowers",
    summary: "Create a borrower",
    write: true,
    status: 201,
    body: borrowerInput,
    response: obj,
    handler: (ctx, req) => createBorrower(ctx.db.kysely, body(borrowerInput, req), ctx.now()),
  },
  {
    method: "GET",
    path: "/api/v1/borrowers",
    summary: "List borrowers",
    write: false,
    response: list,
    handler: (ctx) =>
      ctx.db.kysely.selectFrom("lending_borrowers").selectAll().orderBy("created_at").execute(),
  },
  {
    method: "POST",
    path: "/api/v1/suppliers",
    summary: "Create a feed supplier with its bank account",
    write: true,
    status: 201,
    body: supplierInput,
    response: obj,
    handler: (ctx, req) => createSupplier(ctx.db.kysely, body(supplierInput, req), ctx.now()),
  },
  {
    method: "GET",
    path: "/api/v1/suppliers",
    summary: "List feed suppliers",
    write: false,
    response: list,
    handler: (ctx) =>
      ctx.db.kysely.selectFrom("lending_suppliers").selectAll().orderBy("created_at").execute(),
  },
  {
    method: "POST",
    path: "/api/v1/facilities",
    summary: "Create a credit facility",
    write: true,
    status: 201,
    body: facilityInput,
    response: obj,
    handler: async (ctx, req) =>
      facilityView(await createFacility(ctx.db.kysely, body(facilityInput, req), ctx.now())),
  },
  {
    method: "GET",
    path: "/api/v1/facilities/:id",
    summary: "A facility with its limit and balances",
    write: false,
    response: obj,
    handler: async (ctx, req) => {
      const f = await ctx.db.kysely
        .selectFrom("lending_facilities")
        .selectAll()
        .where("id", "=", id(req))
        .executeTakeFirst();
      if (!f) throw ERR_NOT_FOUND(`no facility ${id(req)}`);
      return { ...facilityView(f), statement: await statementView(ctx.db.kysely, f.id, ctx.now()) };
    },
  },
  {
    method: "GET",
    path: "/api/v1/facilities/:id/ledger",
    summary: "The facility's ledger transactions with their lines",
    write: false,
    response: list,
    handler: (ctx, req) => ledgerView(ctx.db.kysely, id(req)),
  },
  {
    method: "GET",
    path: "/api/v1/facilities/:id/statement",
    summary:
      "Balances per account and batch as of a date (?asOf=, default now), payoff per batch, limit used and available",
    write: false,
    query: asOfQuery,
    response: obj,
    handler: (ctx, req) =>
      statementView(ctx.db.kysely, id(req), parseRequest(asOfQuery, req.query, "query").asOf ?? ctx.now()),
  },
  {
    method: "POST",
    path: "/api/v1/batches",
    summary: "Place a batch and plan its tranches",
    write: true,
    status: 201,
    body: batchInput,
    response: obj,
    handler: (ctx, req) => createBatch(ctx.db.kysely, body(batchInput, req), ctx.now()),
  },
  {
    method: "GET",
    path: "/api/v1/batches/:id",
    summary: "A batch, its tranches and collateral",
    write: false,
    response: obj,
    handler: (ctx, req) => batchView(ctx, id(req)),
  },
  {
    method: "GET",
    path: "/api/v1/batches/:id/tranches",
    summary: "A batch's tranches with decisions and the evidence they cite",
    write: false,
    response: list,
    handler: async (ctx, req) => {
      const ts = await ctx.db.kysely
        .selectFrom("lending_tranches")
        .select("id")
        .where("batch_id", "=", id(req))
        .orderBy("seq")
        .execute();
      return Promise.all(ts.map((t) => trancheView(ctx.db.kysely, t.id)));
    },
  },
  {
    method: "GET",
    path: "/api/v1/batches/:id/findings",
    summary: "Evidence-quality findings of a batch's decision windows, with the records they cite",
    write: false,
    query: findingsQuery,
    response: list,
    handler: (ctx, req) =>
      findingsView(
        ctx.db.kysely,
        id(req),
        parseRequest(findingsQuery, req.query, "query").records === "true",
      ),
  },
  {
    method: "POST",
    path: "/api/v1/batches/:id/repayments",
    summary: "Repay (waterfall: fees, interest, principal)",
    write: true,
    status: 201,
    body: repayInput,
    response: obj,
    handler: (ctx, req) => {
      const b = body(repayInput, req);
      return repayBatch(ctx.db.kysely, id(req), b.amountFen, b.reference, ctx.now(), { payoff: b.payoff });
    },
  },
  {
    method: "GET",
    path: "/api/v1/tranches/:id",
    summary: "A tranche with its decisions, gates, cited records and overrides",
    write: false,
    response: obj,
    handler: (ctx, req) => trancheView(ctx.db.kysely, id(req)),
  },
  {
    method: "POST",
    path: "/api/v1/tranches/:id/override",
    summary: "Override a decision (a release needs a second officer's approval)",
    write: true,
    status: 201,
    body: overrideInput,
    response: obj,
    handler: (ctx, req) => {
      const b = body(overrideInput, req);
      return requestOverride(ctx.db.kysely, {
        trancheId: id(req),
        ...b,
        maker: req.principal?.name ?? "?",
        at: ctx.now(),
      });
    },
  },
  {
    method: "GET",
    path: "/api/v1/alerts",
    summary: "Lending alerts (LTV, mortality, held and reduced tranches)",
    write: false,
    query: alertsQuery,
    response: list,
    handler: async (ctx, req) => {
      const q = parseRequest(alertsQuery, req.query, "query");
      let sel = ctx.db.kysely.selectFrom("lending_alerts").selectAll().orderBy("created_at", "desc");
      if (q.open === "true") sel = sel.where("acked_at", "is", null);
      if (q.batchId) sel = sel.where("batch_id", "=", q.batchId);
      return (await sel.execute()).map((a) => ({ ...a, detail: JSON.parse(a.detail) as unknown }));
    },
  },
  {
    method: "POST",
    path: "/api/v1/alerts/:id/ack",
    summary: "Acknowledge an alert",
    write: true,
    response: obj,
    handler: async (ctx, req) => {
      const r = await ctx.db.kysely
        .updateTable("lending_alerts")
        .set({ acked_by: req.principal?.name ?? "?", acked_at: ctx.now() })
        .where("id", "=", id(req))
        .where("acked_at", "is", null)
        .executeTakeFirst();
      const a = await ctx.db.kysely
        .selectFrom("lending_alerts")
        .selectAll()
        .where("id", "=", id(req))
        .executeTakeFirst();
      if (!a) throw ERR_NOT_FOUND(`no alert ${id(req)}`);
      return { ...a, acknowledgedNow: Number(r.numUpdatedRows) === 1 };
    },
  },
  {
    method: "POST",
    path: "/api/v1/payment-files",
    summary: "Export new payment orders as ISO 20022 pain.001.001.03",
    write: true,
    status: 201,
    body: exportInput,
    response: obj,
    handler: (ctx, req) =>
      exportPaymentFile(ctx.db.kysely, {
        at: ctx.now(),
        ...parseRequest(exportInput, req.body ?? {}, "body"),
      }),
  },
  {
    method: "GET",
    path: "/api/v1/payment-files/:id",
    summary: "A payment file's XML",
    write: false,
    response: z.string(),
    handler: async (ctx, req, reply) => {
      const f = await ctx.db.kysely
        .selectFrom("lending_payment_files")
        .selectAll()
        .where("id", "=", id(req))
        .executeTakeFirst();
      if (!f) throw ERR_NOT_FOUND(`no payment file ${id(req)}`);
      reply.type("application/xml");
      return f.xml;
    },
  },
];

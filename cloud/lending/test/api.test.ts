import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { lendingOpenApi } from "../openapi.ts";
import { freshDb } from "./fresh-db.ts";
import { DIALECTS, dialectsHere, T0 } from "./helpers.ts";
import { prodServer } from "./prod-server.ts";

const as = (t: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${t}`, ...extra });

const here = await dialectsHere();

for (const dialect of DIALECTS)
  describe.runIf(here[dialect])(`lending API on ${dialect}`, () => {
    let app: FastifyInstance;
    let drop: () => Promise<void> = async () => {};

    beforeAll(async () => {
      const fresh = await freshDb(dialect);
      drop = fresh.drop;
      // The production server (buildServer as cloud/service.ts mounts it): its auth, error mapping and hooks.
      app = await prodServer(fresh.db, { now: T0 });
    });
    afterAll(async () => {
      await app?.close();
      await drop();
    });

    it("Fastify's own refusals arrive as the production server maps them: coded, documented, never BL_INTERNAL", async () => {
      const json = as("tok-officer", { "content-type": "application/json" });
      const badJson = await app.inject({
        method: "POST",
        url: "/api/v1/borrowers",
        headers: json,
        payload: '{"name": ',
      });
      expect(badJson.statusCode).toBe(400);
      expect(badJson.json()).toEqual({ error: { code: "BL_HTTP_BAD_REQUEST", message: expect.any(String) } });
      const big = await app.inject({
        method: "POST",
        url: "/api/v1/borrowers",
        headers: json,
        payload: `{"name":"${"x".repeat(5 * 1024 * 1024)}","kind":"farm"}`,
      });
      expect(big.statusCode).toBe(413);
      expect(big.json().error.code).toBe("BL_HTTP_PAYLOAD_TOO_LARGE");
      const none = await app.inject({
        method: "GET",
        url: "/api/v1/borrowers/nope/nothing",
        headers: as("tok-auditor"),
      });
      expect(none.statusCode).toBe(404);
      expect(none.json().error.code).toBe("BL_NOT_FOUND");
      const anon = await app.inject({ method: "GET", url: "/api/v1/borrowers" });
      expect(anon.json().error.code).toBe("BL_UNAUTHORIZED");
    });

    it("401 without a token, 403 for an auditor's write, 400 naming the field", async () => {
      expect((await app.inject({ method: "GET", url: "/api/v1/borrowers" })).statusCode).toBe(401);
      const forbidden = await app.inject({
        method: "POST",
        url: "/api/v1/borrowers",
        headers: as("tok-auditor"),
        payload: { name: "x", kind: "farm" },
      });
      expect(forbidden.statusCode).toBe(403);
      expect(forbidden.json().error.code).toBe("BL_FORBIDDEN");
      expect(
        (await app.inject({ method: "GET", url: "/api/v1/borrowers", headers: as("tok-auditor") }))
          .statusCode,
      ).toBe(200);
      const bad = await app.inject({
        method: "POST",
        url: "/api/v1/borrowers",
        headers: as("tok-officer"),
        payload: { name: "Co-op", kind: "bank" },
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.message).toContain("body.kind");
    });

    it("idempotency keys: a retry returns the first result, a different body is 409", async () => {
      const h = as("tok-officer", { "idempotency-key": "k-1" });
      const first = await app.inject({
        method: "POST",
        url: "/api/v1/borrowers",
        headers: h,
        payload: { name: "Co-op A", kind: "cooperative" },
      });
      expect(first.statusCode).toBe(201);
      const again = await app.inject({
        method: "POST",
        url: "/api/v1/borrowers",
        headers: h,
        payload: { name: "Co-op A", kind: "cooperative" },
      });
      expect(again.statusCode).toBe(201);
      expect(again.json()).toEqual(first.json());
      const other = await app.inject({
        method: "POST",
        url: "/api/v1/borrowers",
        headers: h,
        payload: { name: "Co-op B", kind: "cooperative" },
      });
      expect(other.statusCode).toBe(409);
      const list = await app.inject({ method: "GET", url: "/api/v1/borrowers", headers: as("tok-auditor") });
      expect(list.json().filter((b: { name: string }) => b.name === "Co-op A")).toHaveLength(1);
    });

    it("facility, batch, override with maker-checker, statement and payment file", async () => {
      const o = as("tok-officer");
      const b = (
        await app.inject({
          method: "POST",
          url: "/api/v1/borrowers",
          headers: o,
          payload: { id: "coopz", name: "Z", kind: "cooperative" },
        })
      ).json();
      await app.inject({
        method: "POST",
        url: "/api/v1/suppliers",
        headers: o,
        payload: { id: "sup1", name: "Feed", account: "6222020200112233", cnaps: "102100099996" },
      });
      const f = await app.inject({
        method: "POST",
        url: "/api/v1/facilities",
        headers: o,
        payload: {
          id: "facz",
          borrowerId: b.id,
          limitFen: 2_000_000_000,
          termStart: "2025-03-01T00:00:00Z",
          annualRate: "10%",
          debtor: { name: "Bank", account: "6228480010000001" },
        },
      });
      expect(f.statusCode).toBe(201);
      const batch = await app.inject({
        method: "POST",
        url: "/api/v1/batches",
        headers: o,
        payload: {
          id: "bz",
          facilityId: "facz",
          barn: "barnz",
          species: "broiler",
          headPlaced: 10_000,
          placedAt: T0,
          devices: ["gwz"],
          supplierId: "sup1",
          feedPriceFenPerKg: 260,
          livePriceFenPerKg: 900,
        },
      });
      expect(batch.statusCode).toBe(201);
      const tranches = (
        await app.inject({ method: "GET", url: "/api/v1/batches/bz/tranches", headers: as("tok-auditor") })
      ).json();
      expect(tranches).toHaveLength(6);
      const ov = await app.inject({
        method: "POST",
        url: `/api/v1/tranches/${tranches[0].id}/override`,
        headers: o,
        payload: { action: "release", reason: "site visit confirmed the flock" },
      });
      expect(ov.statusCode).toBe(201);
      expect(ov.json().status).toBe("pending");
      const self = await app.inject({
        method: "POST",
        url: `/api/v1/overrides/${ov.json().id}/approve`,
        headers: o,
      });
      expect(self.statusCode).toBe(403);
      expect(self.json().error.code).toBe("BL_LENDING_MAKER_CHECKER");
      const ok = await app.inject({
        method: "POST",
        url: `/api/v1/overrides/${ov.json().id}/approve`,
        headers: as("tok-officer2"),
      });
      expect(ok.statusCode).toBe(200);
      const twice = await app.inject({
        method: "POST",
        url: `/api/v1/overrides/${ov.json().id}/approve`,
        headers: as("tok-officer2"),
      });
      expect(twice.statusCode).toBe(409);
      const st = (
        await app.inject({
          method: "GET",
          url: "/api/v1/facilities/facz/statement",
          headers: as("tok-auditor"),
        })
      ).json();
      expect(st.balances.loan_principal).toBe(tranches[0].planned_fen);
      const ledger = (
        await app.inject({ method: "GET", url: "/api/v1/facilities/facz/ledger", headers: as("tok-auditor") })
      ).json();
      expect(ledger[0].lines.reduce((s: number, l: { amountFen: number }) => s + l.amountFen, 0)).toBe(0);
      const pf = await app.inject({ method: "POST", url: "/api/v1/payment-files", headers: o, payload: {} });
      expect(pf.statusCode).toBe(201);
      const xml = await app.inject({
        method: "GET",
        url: `/api/v1/payment-files/${pf.json().fileId}`,
        headers: as("tok-auditor"),
      });
      expect(xml.headers["content-type"]).toContain("application/xml");
      const tr = (
        await app.inject({
          method: "GET",
          url: `/api/v1/tranches/${tranches[0].id}`,
          headers: as("tok-auditor"),
        })
      ).json();
      expect(tr.decisions[0].reasons[0]).toContain("approved by oscar");
    });

    it("exports every route's schemas for the OpenAPI document", () => {
      expect(lendingOpenApi.length).toBeGreaterThan(15);
      for (const r of lendingOpenApi) {
        for (const s of [r.body, r.query, r.response])
          if (s) expect(() => z.toJSONSchema(s, { io: "input" })).not.toThrow();
      }
    });
  });

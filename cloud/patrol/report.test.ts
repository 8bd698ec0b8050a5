import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canonicalJson } from "../../core/canonical.ts";
import { generateKeyPair } from "../../core/keys.ts";
import { silentLogger } from "../../core/log.ts";
import { freshDb } from "../../test/helpers/services.ts";
import { hashToken } from "../api/auth.ts";
import { buildServer } from "../api/server.ts";
import type { CloudContext } from "../context.ts";
import { patrolModule } from "./routes.ts";

/**
 * The report's logic on hand-made rows in a real SQLite evidence store (ingest is tested
 * elsewhere; here the rows are inserted as ingest would store them).
 */
const T0 = Date.UTC(2026, 11, 1, 8);
const ROUND = T0 / 1000;
const sent: Array<{ device: string; name: string; args: Record<string, unknown> }> = [];
let fresh: Awaited<ReturnType<typeof freshDb>>;
let app: Awaited<ReturnType<typeof buildServer>>;
let seq = 0;

async function put(kind: string, stream: string, t: number, body: unknown) {
  seq++;
  await fresh.db.kysely
    .insertInto("records")
    .values({
      device: "bot-1",
      stream,
      seq,
      kind,
      t_wall: t,
      t_boot: "b",
      t_mono: t - T0,
      t_synced: 1,
      t_corrected: null,
      body: canonicalJson(body),
      prev: "0".repeat(64),
      hash: seq.toString(16).padStart(64, "0"),
      received_at: t,
    })
    .execute();
}
const check = (id: string, ok: boolean | null, seen: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: "lamp",
  expected: "off",
  seen,
  ok,
  ...extra,
});
const insp = (
  checkpoint: string,
  t: number,
  checks: unknown[],
  readings: Record<string, number> = { temperature: 24 },
) => ({
  round: ROUND,
  checkpoint,
  plan: "3",
  arrivedAt: t,
  readings,
  checks,
  ok: !checks.some((c) => (c as { ok: unknown }).ok === false),
  violations: checks
    .filter((c) => (c as { ok: unknown }).ok === false)
    .map((c) => `${(c as { id: string }).id}: x`),
});

beforeAll(async () => {
  fresh = await freshDb("sqlite");
  const ctx: CloudContext = {
    db: fresh.db,
    log: silentLogger,
    key: generateKeyPair(),
    now: () => T0 + 3_600_000,
    async sendCommand(device, name, args) {
      sent.push({ device, name, args });
    },
  };
  await fresh.db.kysely
    .insertInto("devices")
    .values({ id: "bot-1", public_key: "k", name: null, registered_at: T0, revoked_at: null })
    .execute();
  await put(
    "inspection",
    "patrol.inspections",
    T0 + 1000,
    insp("rack-1", T0 + 1000, [check("fault-lamp", true, "off")]),
  );
  await put(
    "inspection",
    "patrol.inspections",
    T0 + 2000,
    insp("rack-2", T0 + 2000, [
      check("fault-lamp", false, "=red steady", { frameSha256: "a".repeat(64) }),
      check("label", null, "", { skipped: "no QR code decoded" }),
    ]),
  );
  // The robot went back to rack-1: the last inspection counts.
  await put(
    "inspection",
    "patrol.inspections",
    T0 + 2500,
    insp("rack-1", T0 + 2500, [check("fault-lamp", true, "off")], { temperature: 25 }),
  );
  await put("round", "patrol.rounds", T0 + 5000, {
    round: ROUND,
    plan: "3",
    startedAt: T0,
    endedAt: T0 + 5000,
    planned: ["rack-1", "rack-2", "rack-3", "ups"],
    visited: ["rack-1", "rack-2"],
    skipped: [
      { checkpoint: "rack-3", reason: "aisle blocked" },
      { checkpoint: "ups", reason: "not visited: no arrival from the robot" },
    ],
    violations: 1,
  });
  // The next round has started but not docked: no missed findings yet.
  await put("inspection", "patrol.inspections", T0 + 60_000, {
    ...insp("rack-1", T0 + 60_000, [check("fault-lamp", true, "off")]),
    round: ROUND + 60,
  });
  app = await buildServer(
    ctx,
    [
      { name: "ops", role: "officer", sha256: hashToken("officer-token-0123456789") },
      { name: "aud", role: "auditor", sha256: hashToken("auditor-token-0123456789") },
    ],
    { modules: [patrolModule()] },
  );
});
afterAll(async () => {
  await app?.close();
  await fresh?.drop();
});

const get = (url: string, token = "officer-token-0123456789") =>
  app.inject({ method: "GET", url, headers: { authorization: `Bearer ${token}` } });

describe("patrol reports", () => {
  it("lists rounds newest first, the unfinished one without an end", async () => {
    const r = (await get("/api/v1/patrol/robots/bot-1/rounds")).json();
    expect(r.map((x: { round: number; endedAt: number | null }) => [x.round, x.endedAt])).toEqual([
      [ROUND + 60, null],
      [ROUND, T0 + 5000],
    ]);
    expect((await get("/api/v1/patrol/robots")).json()).toMatchObject([{ device: "bot-1" }]);
  });

  it("reports violations, a missed-checkpoint finding per planned checkpoint not inspected (with the robot's reason), and checks not run", async () => {
    const r = (await get(`/api/v1/patrol/robots/bot-1/rounds/${ROUND}`)).json();
    expect(r.findings).toEqual([
      {
        type: "violation",
        checkpoint: "rack-2",
        check: "fault-lamp",
        checkType: "lamp",
        expected: "off",
        seen: "=red steady",
        frameSha256: "a".repeat(64),
      },
      { type: "missed-checkpoint", checkpoint: "rack-3", reason: "aisle blocked" },
      { type: "missed-checkpoint", checkpoint: "ups", reason: "not visited: no arrival from the robot" },
    ]);
    expect(r.counts).toEqual({ planned: 4, inspected: 2, violations: 1, missed: 2, notChecked: 1 });
    expect(r.checkpoints[0]).toMatchObject({
      checkpoint: "rack-1",
      status: "ok",
      readings: { temperature: 25 },
    });
    expect(r.checkpoints[1].notChecked).toEqual([{ check: "label", reason: "no QR code decoded" }]);
    const open = (await get(`/api/v1/patrol/robots/bot-1/rounds/${ROUND + 60}`)).json();
    expect(open).toMatchObject({ complete: false, findings: [] });
  });

  it("exports CSV with formula-like cells defused and a PDF", async () => {
    const csv = (await get(`/api/v1/patrol/robots/bot-1/rounds/${ROUND}/report.csv`)).body;
    expect(csv).toContain(",'=red steady,no,");
    expect(csv).toContain("bot-1,");
    expect(csv).toContain(",rack-3,missed,,,,,,aisle blocked,,");
    const pdf = await get(`/api/v1/patrol/robots/bot-1/rounds/${ROUND}/report.pdf`);
    expect(pdf.headers["content-type"]).toBe("application/pdf");
    expect(pdf.rawPayload.subarray(0, 5).toString()).toBe("%PDF-");
  });

  it("records one review per violation; a second, or one for a violation that does not exist, is a 409", async () => {
    const post = (body: unknown, token = "officer-token-0123456789") =>
      app.inject({
        method: "POST",
        url: `/api/v1/patrol/robots/bot-1/rounds/${ROUND}/reviews`,
        payload: body as object,
        headers: { authorization: `Bearer ${token}` },
      });
    const ok = await post({
      checkpoint: "rack-2",
      check: "fault-lamp",
      verdict: "confirmed",
      note: "PSU swapped",
    });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(
      (await post({ checkpoint: "rack-2", check: "fault-lamp", verdict: "false-alarm" })).json().error.code,
    ).toBe("BL_PATROL_REVIEW");
    expect((await post({ checkpoint: "rack-1", check: "fault-lamp", verdict: "confirmed" })).statusCode).toBe(
      409,
    );
    expect(
      (await post({ checkpoint: "rack-2", check: "fault-lamp", verdict: "maybe" })).json().error.code,
    ).toBe("BL_VALIDATION");
    expect(
      (
        await post(
          { checkpoint: "rack-2", check: "fault-lamp", verdict: "confirmed" },
          "auditor-token-0123456789",
        )
      ).statusCode,
    ).toBe(403);
    const r = (await get(`/api/v1/patrol/robots/bot-1/rounds/${ROUND}`, "auditor-token-0123456789")).json();
    expect(r.findings[0].review).toMatchObject({ verdict: "confirmed", note: "PSU swapped", by: "ops" });
  });

  it("answers coded 4xx for unknown rounds, frames and robots; pushes a plan as a signed command", async () => {
    expect((await get("/api/v1/patrol/robots/bot-1/rounds/12")).json().error.code).toBe(
      "BL_PATROL_NOT_FOUND",
    );
    expect((await get(`/api/v1/patrol/robots/bot-1/frames/${"b".repeat(64)}`)).statusCode).toBe(404);
    expect((await get("/api/v1/patrol/robots/bot-1/frames/nothex")).statusCode).toBe(400);
    expect((await get("/api/v1/patrol/robots/bot-1/checkpoints/nowhere/trend")).statusCode).toBe(404);
    const push = (device: string, payload: unknown) =>
      app.inject({
        method: "POST",
        url: `/api/v1/patrol/robots/${device}/plan`,
        payload: payload as object,
        headers: { authorization: "Bearer officer-token-0123456789" },
      });
    expect(
      (await push("bot-1", { plan: { version: "4", checkpoints: [{ id: "rack-1" }] } })).statusCode,
    ).toBe(202);
    expect(sent).toEqual([
      {
        device: "bot-1",
        name: "patrol.plan",
        args: { plan: { version: "4", checkpoints: [{ id: "rack-1" }] } },
      },
    ]);
    expect((await push("bot-1", { plan: { checkpoints: [] } })).statusCode).toBe(400);
    expect((await push("ghost", { plan: { version: "4", checkpoints: [{ id: "a" }] } })).statusCode).toBe(
      404,
    );
  });
});

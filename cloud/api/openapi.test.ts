import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RouteOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { declaredErrors } from "../../core/errors.ts";
import { generateKeyPair } from "../../core/keys.ts";
import { silentLogger } from "../../core/log.ts";
import { productionApi } from "../../test/helpers/cloud-api.ts";
import { openApiProblems } from "../../test/helpers/openapi-check.ts";
import { freshDb, tmpDir } from "../../test/helpers/services.ts";
import { registerDevice } from "../devices.ts";
import { fleetViewSchema } from "../fleet/openapi.ts";
import { adaptJobView } from "../models/openapi.ts";
import { hashToken } from "./auth.ts";

const ADMIN = "admin-token-openapi-0123456789";
const auth = { authorization: `Bearer ${ADMIN}` };
type Doc = { paths: Record<string, Record<string, Record<string, unknown>>> } & Record<string, unknown>;

/** "METHOD /path/{param}" for a Fastify route ("/a/:id" → "/a/{id}"). */
const oneJob = z.object({ job: adaptJobView });
const routeKey = (method: string, url: string) => `${method.toUpperCase()} ${url.replace(/:(\w+)/g, "{$1}")}`;

describe("the OpenAPI document (/api/docs) of the production server", async () => {
  const fresh = await freshDb("sqlite");
  const registered = new Set<string>();
  // Two pigs with two frames each: enough for a job to be accepted (the files are never read here).
  const herdData = tmpDir();
  for (const pig of ["pig-a", "pig-b"]) {
    mkdirSync(join(herdData, "h1", pig), { recursive: true });
    for (const f of ["1.jpg", "2.jpg"]) writeFileSync(join(herdData, "h1", pig, f), "");
  }
  let doc: Doc;
  let app: Awaited<ReturnType<typeof productionApi>>;
  beforeAll(async () => {
    let n = 0;
    app = await productionApi(
      {
        db: fresh.db,
        log: silentLogger,
        key: generateKeyPair(),
        now: Date.now,
        sendCommand: async () => `cmd-${++n}`,
      },
      [{ name: "admin", role: "admin", sha256: hashToken(ADMIN) }],
      {
        // Every module mounted, as a cloud with modelsDir and adapt configured runs them.
        modules: {
          modelsDir: tmpDir(),
          adapt: { workDir: tmpDir(), herdDataDir: herdData, maxMinutes: 5, worker: "openapi-test" },
        },
        onRoute: (r: RouteOptions) => {
          for (const m of [r.method].flat()) if (m !== "HEAD") registered.add(routeKey(m, r.url));
        },
      },
    );
    doc = (await app.inject({ url: "/api/docs" })).json() as Doc;
  });
  afterAll(async () => {
    await app?.close();
    await fresh.drop();
  });

  const documented = () =>
    new Set(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => routeKey(m, p))));

  it("documents every route registered under /api/, and nothing that is not registered", () => {
    const api = [...registered].filter((r) => r.split(" ")[1]!.startsWith("/api/") && r !== "GET /api/docs");
    expect(api.length).toBeGreaterThan(60);
    expect(api.filter((r) => !documented().has(r)).sort()).toEqual([]);
    expect([...documented()].filter((r) => !registered.has(r)).sort()).toEqual([]);
  });

  it("is a valid OpenAPI 3.1 document (structure, path parameters, $refs, JSON Schema 2020-12)", () => {
    expect(openApiProblems(doc)).toEqual([]);
  });

  it("the adapt-job and fleet routes carry their request schemas, success status and error codes", () => {
    // biome-ignore lint/suspicious/noExplicitAny: the document is read as untyped JSON
    const op = (path: string, method: string) => doc.paths[path]![method] as Record<string, any>;
    const start = op("/api/v1/models/adapt-jobs", "post");
    const body = start.requestBody.content["application/json"].schema;
    expect(body.required).toEqual(expect.arrayContaining(["herd", "frames"]));
    expect(Object.keys(body.properties)).toEqual(
      expect.arrayContaining(["herd", "frames", "base", "current", "version", "training"]),
    );
    expect(Object.keys(start.responses)).toEqual(expect.arrayContaining(["202", "400", "404", "409", "422"]));
    expect(start["x-error-codes"]).toEqual(
      expect.arrayContaining(["BL_ADAPT_PATH", "BL_ADAPT_NO_FRAMES", "BL_CONFLICT", "BL_VALIDATION"]),
    );
    expect(op("/api/v1/models/adapt-jobs", "get").parameters).toEqual([
      expect.objectContaining({ name: "herd", in: "query", required: false }),
    ]);
    expect(op("/api/v1/models/adapt-jobs/{id}", "delete")["x-error-codes"]).toContain("BL_ADAPT_STATE");
    const apply = op("/api/v1/devices/{id}/config", "post");
    expect(apply.requestBody.content["application/json"].schema.required).toEqual(["config"]);
    expect(apply.parameters[0]).toMatchObject({ name: "id", in: "path", schema: { type: "string" } });
    expect(Object.keys(apply.responses)).toContain("202");
    expect(apply["x-error-codes"]).toEqual(expect.arrayContaining(["BL_FLEET_NOT_QUEUED", "BL_NOT_FOUND"]));
    expect(op("/api/v1/devices/{id}/status-request", "post").requestBody).toBeDefined();
    // Every code named is declared (so docs/errors.md lists it: test/unit/docs.test.ts).
    const declared = new Set(declaredErrors().map((e) => e.code));
    for (const ops of Object.values(doc.paths))
      for (const o of Object.values(ops))
        for (const c of o["x-error-codes"] as string[]) expect(declared.has(c), c).toBe(true);
  });

  it("what the adapt-job and fleet routes answer matches their documented response schemas", async () => {
    const key = generateKeyPair();
    await registerDevice(fresh.db, "gw-doc", key.publicKeyB64, null, Date.now());
    const sent = await app.inject({
      method: "POST",
      url: "/api/v1/devices/gw-doc/config",
      headers: auth,
      payload: { config: "device: gw-doc\n", deadline: "60s" },
    });
    expect(sent.statusCode, sent.body).toBe(202);
    const asked = await app.inject({
      method: "POST",
      url: "/api/v1/devices/gw-doc/status-request",
      headers: auth,
      payload: { lines: 10 },
    });
    expect(asked.statusCode, asked.body).toBe(202);
    const view = await app.inject({ url: "/api/v1/devices/gw-doc/fleet", headers: auth });
    expect(view.statusCode).toBe(200);
    const parsed = fleetViewSchema.parse(view.json());
    expect(parsed.config.requests).toHaveLength(1);
    expect(parsed.status.requests).toHaveLength(1);
    const jobs = await app.inject({ url: "/api/v1/models/adapt-jobs", headers: auth });
    expect(jobs.statusCode).toBe(200);
    expect(jobs.json()).toEqual({ jobs: [] });
    const missing = await app.inject({ url: "/api/v1/models/adapt-jobs/adapt-none", headers: auth });
    expect(missing.statusCode).toBe(404);
    const refused = await app.inject({
      method: "POST",
      url: "/api/v1/models/adapt-jobs",
      headers: auth,
      payload: { herd: "h1", frames: { records: { devices: ["gw-doc"] } } },
    });
    expect(refused.statusCode, refused.body).toBe(422);
    const startCodes = doc.paths["/api/v1/models/adapt-jobs"]!.post!["x-error-codes"] as string[];
    expect(startCodes).toContain(refused.json().error.code);
    // A job on a folder of labelled frames (the worker is not started: it stays queued), then cancelled.
    const made = await app.inject({
      method: "POST",
      url: "/api/v1/models/adapt-jobs",
      headers: auth,
      payload: { herd: "h1", frames: { folder: "h1" } },
    });
    expect(made.statusCode, made.body).toBe(202);
    const job = oneJob.parse(made.json()).job;
    expect(job.status).toBe("queued");
    const listed = await app.inject({ url: "/api/v1/models/adapt-jobs?herd=h1", headers: auth });
    expect(
      z
        .object({ jobs: z.array(adaptJobView) })
        .parse(listed.json())
        .jobs.map((j) => j.id),
    ).toEqual([job.id]);
    const one = await app.inject({ url: `/api/v1/models/adapt-jobs/${job.id}`, headers: auth });
    expect(oneJob.parse(one.json()).job.id).toBe(job.id);
    const cancel = () =>
      app.inject({ method: "DELETE", url: `/api/v1/models/adapt-jobs/${job.id}`, headers: auth });
    expect(oneJob.parse((await cancel()).json()).job.status).toBe("cancelled");
    const again = await cancel();
    expect(again.statusCode).toBe(409);
    expect(doc.paths["/api/v1/models/adapt-jobs/{id}"]!.delete!["x-error-codes"]).toContain(
      again.json().error.code,
    );
  });
});

describe("the OpenAPI check catches planted breaks", () => {
  it("a wrong version, an undescribed path parameter, a bad status, a dangling $ref, an invalid schema", () => {
    const ok = { description: "OK", content: { "application/json": { schema: { type: "object" } } } };
    const problems = openApiProblems({
      openapi: "3.0.3",
      info: { title: "t", version: "1" },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      paths: {
        "/a/{id}": { get: { responses: { 200: ok } } },
        "/b": {
          post: {
            security: [{ apiKey: [] }],
            requestBody: { content: { "application/json": { schema: { type: "strnig" } } } },
            responses: { 2000: ok, 400: { $ref: "#/components/responses/Nope" } },
            operation: "x",
          },
        },
      },
    });
    const expected = [
      "openapi: must be 3.1.x",
      "GET /a/{id}: path parameter {id} is not described",
      "POST /b: '2000' is not a response status",
      "$ref #/components/responses/Nope resolves to nothing",
      "POST /b requestBody.application/json",
      "security scheme 'apiKey' is not defined",
      "'operation' is not an operation field",
      "POST /b: no success response",
    ];
    for (const e of expected)
      expect(
        problems.some((p) => p.includes(e)),
        `${e} in ${problems.join(" | ")}`,
      ).toBe(true);
  });
});

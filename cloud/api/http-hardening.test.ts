import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { declaredErrors } from "../../core/errors.ts";
import { generateKeyPair } from "../../core/keys.ts";
import { freshDb } from "../../test/helpers/services.ts";
import { cloudModules } from "../modules.ts";
import { hashToken } from "./auth.ts";
import { buildServer } from "./server.ts";

const ADMIN = "admin-token-0123456789abcdef";
type LogLine = string;
const memoryLogger = (lines: LogLine[]) =>
  pino({ level: "debug" }, { write: (s: string) => void lines.push(s) });
/** `npm run fuzz` sets BARNLINK_FUZZ_RUNS for the long mode; `npm test` runs a sample. */
const FUZZ_RUNS = Math.ceil(Number(process.env.BARNLINK_FUZZ_RUNS ?? 500) / 5);

describe("HTTP API: every error in the documented shape, failed auth rate-limited", async () => {
  const fresh = await freshDb("sqlite");
  const lines: LogLine[] = [];
  let app: FastifyInstance;
  const documented = new Set(declaredErrors().map((e) => e.code));
  const expectShape = (r: { statusCode: number; body: string }, what: string) => {
    const body = JSON.parse(r.body) as { error?: { code?: string; message?: string } };
    expect(body.error?.code, `${what}: ${r.body.slice(0, 200)}`).toMatch(/^BL_/);
    expect(documented.has(body.error!.code!), `${what}: ${body.error!.code} is documented`).toBe(true);
    expect(typeof body.error?.message).toBe("string");
    expect(Object.keys(body)).toEqual(["error"]);
    return body.error!.code!;
  };
  beforeAll(async () => {
    const log = memoryLogger(lines);
    app = await buildServer(
      { db: fresh.db, log, key: generateKeyPair(), now: Date.now, sendCommand: async () => {} },
      [{ name: "admin", role: "admin", sha256: hashToken(ADMIN) }],
      { modules: cloudModules({}).modules, authFailuresPerMinute: 1_000_000 },
    );
  });
  afterAll(async () => {
    await app?.close();
    await fresh.drop();
  });
  const auth = { authorization: `Bearer ${ADMIN}` };

  it("maps Fastify's own refusals (413, 415, bad JSON, empty body) to coded errors, never BL_INTERNAL", async () => {
    const big = await app.inject({
      method: "POST",
      url: "/api/v1/devices",
      headers: { ...auth, "content-type": "application/json" },
      payload: `{"id":"${"x".repeat(5 * 1024 * 1024)}"}`,
    });
    expect(big.statusCode).toBe(413);
    expect(expectShape(big, "413")).toBe("BL_HTTP_PAYLOAD_TOO_LARGE");
    const media = await app.inject({
      method: "POST",
      url: "/api/v1/devices",
      headers: { ...auth, "content-type": "application/x-weird" },
      payload: "id=1",
    });
    expect(media.statusCode).toBe(415);
    expect(expectShape(media, "415")).toBe("BL_HTTP_UNSUPPORTED_MEDIA");
    const badJson = await app.inject({
      method: "POST",
      url: "/api/v1/devices",
      headers: { ...auth, "content-type": "application/json" },
      payload: '{"id": ',
    });
    expect(badJson.statusCode).toBe(400);
    expectShape(badJson, "bad JSON");
    const empty = await app.inject({
      method: "POST",
      url: "/api/v1/devices",
      headers: { ...auth, "content-type": "application/json" },
      payload: "",
    });
    expect(empty.statusCode).toBe(400);
    expectShape(empty, "empty JSON");
  });

  it("fuzz: random methods, paths, queries and bodies on every documented route answer 2xx/3xx or a coded 4xx", async () => {
    const doc = JSON.parse((await app.inject({ url: "/api/docs" })).body) as {
      paths: Record<string, unknown>;
    };
    const paths = Object.keys(doc.paths);
    expect(paths.length).toBeGreaterThan(10);
    const segment = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom("barn-1", "0", "-1", "%zz", "..", "1e309"),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH"),
        fc.array(segment, { minLength: 1, maxLength: 3 }),
        fc.dictionary(
          fc.constantFrom("limit", "after", "stream", "device", "status", "from", "to"),
          fc.string({ maxLength: 10 }),
        ),
        fc.oneof(fc.json(), fc.string({ maxLength: 100 }), fc.constant(undefined)),
        fc.boolean(),
        async (path, method, segs, query, body, withToken) => {
          let i = 0;
          const url = path.replace(/\{[^}]+\}/g, () => encodeURIComponent(segs[i++ % segs.length]!));
          const r = await app.inject({
            method,
            url,
            query,
            headers: {
              ...(withToken ? auth : {}),
              ...(body !== undefined ? { "content-type": "application/json" } : {}),
            },
            ...(body !== undefined ? { payload: body } : {}),
          });
          expect(r.statusCode, `${method} ${url}: ${r.body.slice(0, 300)}`).toBeLessThan(500);
          if (r.statusCode >= 400) expectShape(r, `${method} ${url}`);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  }, 600_000);

  it("rate-limits failed authentication per address; a valid token is never throttled", async () => {
    const strict = await buildServer(
      {
        db: fresh.db,
        log: memoryLogger(lines),
        key: generateKeyPair(),
        now: Date.now,
        sendCommand: async () => {},
      },
      [{ name: "admin", role: "admin", sha256: hashToken(ADMIN) }],
      { authFailuresPerMinute: 5 },
    );
    try {
      const codes: number[] = [];
      for (let i = 0; i < 8; i++)
        codes.push(
          (await strict.inject({ url: "/api/v1/devices", headers: { authorization: `Bearer guess-${i}` } }))
            .statusCode,
        );
      expect(codes.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
      expect(codes.slice(5)).toEqual([429, 429, 429]);
      const limited = await strict.inject({ url: "/api/v1/devices" });
      expect(expectShape(limited, "429")).toBe("BL_HTTP_RATE_LIMITED");
      const ok = await strict.inject({ url: "/api/v1/devices", headers: auth });
      expect(ok.statusCode).toBe(200);
    } finally {
      await strict.close();
    }
  });

  it("never logs a token or a secret", async () => {
    await app.inject({
      url: "/api/v1/devices",
      headers: { authorization: "Bearer leaked-secret-token-xyz" },
    });
    await app.inject({ url: "/api/v1/nope?token=leaked-secret-token-xyz", headers: auth });
    const text = JSON.stringify(lines);
    expect(text).not.toContain("leaked-secret-token-xyz");
    expect(text).not.toContain(ADMIN);
  });
});

import type { FastifyInstance } from "fastify";
import { hashToken } from "../../api/auth.ts";
import { buildServer } from "../../api/server.ts";
import type { Db } from "../../db/connect.ts";
import { cloudModules } from "../../modules.ts";
import { testCtx } from "./helpers.ts";

export const TOKENS = [
  { name: "olga", role: "officer" as const, sha256: hashToken("tok-officer") },
  { name: "oscar", role: "officer" as const, sha256: hashToken("tok-officer2") },
  { name: "otto", role: "officer" as const, sha256: hashToken("tok-officer3") },
  { name: "audrey", role: "auditor" as const, sha256: hashToken("tok-auditor") },
];

/** The API as production builds it (cloud/service.ts: buildServer with cloudModules' modules), on a test clock. */
export async function prodServer(db: Db, clock: { now: number }): Promise<FastifyInstance> {
  const app = await buildServer(testCtx(db, clock), TOKENS, { modules: cloudModules().modules });
  await app.ready();
  return app;
}

/** An inject helper: method, url, token, payload → {status, json, body}. */
export function client(app: FastifyInstance) {
  return async (method: "GET" | "POST", url: string, token = "tok-officer", payload?: unknown) => {
    const r = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the route answered
    let json: any = null;
    try {
      json = r.json();
    } catch {}
    return { status: r.statusCode, json, body: r.body, raw: r.rawPayload, headers: r.headers };
  };
}

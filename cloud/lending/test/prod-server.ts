import type { FastifyInstance } from "fastify";
import { productionApi } from "../../../test/helpers/cloud-api.ts";
import { hashToken } from "../../api/auth.ts";
import type { Db } from "../../db/connect.ts";
import { testCtx } from "./helpers.ts";

export const TOKENS = [
  { name: "olga", role: "officer" as const, sha256: hashToken("tok-officer") },
  { name: "oscar", role: "officer" as const, sha256: hashToken("tok-officer2") },
  { name: "otto", role: "officer" as const, sha256: hashToken("tok-officer3") },
  { name: "audrey", role: "auditor" as const, sha256: hashToken("tok-auditor") },
];

/** The API as production builds it (test/helpers/cloud-api.ts, as cloud/service.ts does), on a test clock. */
export function prodServer(db: Db, clock: { now: number }): Promise<FastifyInstance> {
  return productionApi(testCtx(db, clock), TOKENS);
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

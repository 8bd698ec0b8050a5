import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { ident } from "../../core/zod-helpers.ts";
import { requireRole } from "../api/auth.ts";
import { parseRequest } from "../api/validate.ts";
import type { CloudContext } from "../context.ts";
import { listPackages, readPackage, rollOut } from "./publish.ts";

export const rolloutParams = z.object({ version: z.string() });
export const rolloutBody = z.strictObject({ devices: z.array(ident()).min(1), baseUrl: z.url() });

/** Public: the signed packages themselves (agents have no API token; the signature protects them). */
export function modelPackageRoutes(modelsDir: string) {
  return async (app: FastifyInstance) => {
    app.get("/models/:file", async (req, reply) => {
      const { file } = parseRequest(
        z.object({ file: z.string().regex(/^[^/]+\.pkg$/, "<version>.pkg") }),
        req.params,
        "params",
      );
      reply.type("application/json");
      return readPackage(modelsDir, file.slice(0, -4));
    });
  };
}

/** Authenticated: list published versions; roll one out to devices (admin). */
export function modelApiRoutes(modelsDir: string) {
  return async (app: FastifyInstance, ctx: CloudContext) => {
    app.get("/api/v1/models", async () => ({ models: listPackages(modelsDir) }));
    app.post("/api/v1/models/:version/rollout", { preHandler: requireRole("admin") }, async (req) => {
      const { version } = parseRequest(rolloutParams, req.params, "params");
      const body = parseRequest(rolloutBody, req.body);
      const pkg = listPackages(modelsDir).find((p) => p.version === version);
      readPackage(modelsDir, version);
      await rollOut(ctx, body.devices, { version, sha256: pkg!.sha256 }, body.baseUrl);
      return { version, devices: body.devices, status: "commanded" };
    });
  };
}

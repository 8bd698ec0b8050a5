import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { hashToken, type Role } from "../../cloud/api/auth.ts";
import { buildServer } from "../../cloud/api/server.ts";
import type { CloudContext } from "../../cloud/context.ts";
import { runScenario } from "../../cloud/lending/scenario.ts";
import { cloudModules } from "../../cloud/modules.ts";
import { generateKeyPair } from "../../core/keys.ts";
import { silentLogger } from "../../core/log.ts";
import { freshDb } from "../helpers/services.ts";

/** The two-week broiler batch whose census is inflated 30 % above the placed head from day 8. */
const INFLATED_CENSUS = `name: inflated census (browser test)
description: census 30% above the placed head from day 8
species: broiler
head: 20000
start: "2025-03-03"
days: 15
feedPriceFenPerKg: 260
livePriceFenPerKg: 900
events:
  - { type: inflatedCensus, fromDay: 8, days: 5, factor: 1.3 }
`;

export interface ScenarioServer {
  url: string;
  app: FastifyInstance;
  /** The replayed tranches' outcomes in order (release, release, hold). */
  outcomes: string[];
  close(): Promise<void>;
}

/**
 * The inflated-census scenario replayed into a fresh SQLite database and served by the production
 * server with the cloud's modules, at the scenario's end date, for the given users (name, role,
 * bearer token).
 */
export async function inflatedCensusServer(
  users: Array<{ name: string; role: Role; token: string }>,
): Promise<ScenarioServer> {
  const file = join(mkdtempSync(join(tmpdir(), "barnlink-browser-scenario-")), "inflated.yaml");
  writeFileSync(file, INFLATED_CENSUS);
  const f = await freshDb("sqlite");
  const r = await runScenario(file, { db: f.db });
  const ctx: CloudContext = {
    db: f.db,
    log: silentLogger,
    key: generateKeyPair(),
    now: () => Date.parse("2025-03-18T00:00:00Z"),
    sendCommand: async () => {},
  };
  const app = await buildServer(
    ctx,
    users.map((u) => ({ name: u.name, role: u.role, sha256: hashToken(u.token) })),
    { modules: cloudModules().modules },
  );
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    url,
    app,
    outcomes: r.decisions.map((d) => d.outcome),
    close: async () => {
      await app.close();
      await f.drop();
    },
  };
}

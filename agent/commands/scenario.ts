import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { KyselyPlugin } from "kysely";
import { openDb } from "../../cloud/db/connect.ts";
import { migrateToLatest } from "../../cloud/db/migrate.ts";
import { loadProfile } from "../../cloud/lending/profile.ts";
import { assertExpectations, loadScenario, runScenario } from "../../cloud/lending/scenario.ts";
import { ProgressBar } from "../../core/progress.ts";
import { args, type CommandSpec, need, out } from "../cli-kit.ts";

const usage = "barnlink scenario FILE [--quiet] [--check]   (e.g. docs/scenarios/heat-wave.yaml)";
const DAY = 86_400_000;

/**
 * Replays a lending scenario (cloud/lending/scenario.ts) and prints its decisions. The replay has
 * no progress hook, so a Kysely plugin peeks at the newest evidence time through a second, read-only
 * SQLite connection (synchronous, so it works even while the replay never yields to timers).
 */
export const scenario: CommandSpec = {
  name: "scenario",
  summary: "Replay a lending scenario file through simulated time and print the tranche decisions",
  usage,
  async run(argv) {
    const a = args(argv, { quiet: { type: "boolean", short: "q" }, check: { type: "boolean" } }, usage, true);
    const file = need(a.positionals[0], "FILE", usage);
    const s = loadScenario(file);
    const days = s.days ?? loadProfile(s.species).cycleDays;
    const placedAt = Date.parse(`${s.start}T00:00:00Z`);
    const path = join(mkdtempSync(join(tmpdir(), "barnlink-scenario-")), "cloud.db");
    const db = openDb(path);
    await migrateToLatest(db);
    const bar = new ProgressBar(`replaying ${s.name}`, days, process.stderr, !a.values.quiet);
    const peek = new Database(path, { readonly: true });
    const newest = peek.prepare("SELECT max(t_wall) AS t FROM records");
    let lastPeek = 0;
    const progress: KyselyPlugin = {
      transformQuery(q) {
        const now = Date.now();
        if (now - lastPeek > 100) {
          lastPeek = now;
          const t = (newest.get() as { t: number | null }).t;
          if (t) bar.update(Math.max(0, Math.min(days, Math.floor((t - placedAt) / DAY))), "days");
        }
        return q.node;
      },
      async transformResult(r) {
        return r.result;
      },
    };
    try {
      const result = await runScenario(file, { db: { ...db, kysely: db.kysely.withPlugin(progress) } });
      bar.update(days, "days");
      bar.end();
      out(result.text);
      // --check: the file's expectations are a test (BL_SCENARIO_EXPECT names what differs).
      if (a.values.check) assertExpectations(s, result);
      return 0;
    } finally {
      peek.close();
      await db.close();
    }
  },
};

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { problemsFromZod } from "../../core/config.ts";
import { generateKeyPair } from "../../core/keys.ts";
import { silentLogger } from "../../core/log.ts";
import type { CloudContext } from "../context.ts";
import { type Db, openDb } from "../db/connect.ts";
import { migrateToLatest } from "../db/migrate.ts";
import { lendingTick } from "./engine.ts";
import { ERR_SCENARIO_EXPECT, ERR_SCENARIO_FILE } from "./errors.ts";
import { yuan } from "./interest.ts";
import { loadProfile } from "./profile.ts";
import { type Scenario, scenarioSchema } from "./scenario-schema.ts";
import { createBatch, createBorrower, createFacility, createSupplier } from "./setup.ts";
import { SyntheticBarn } from "./synth-evidence.ts";

const H = 3_600_000;
const D = 24 * H;
const TICK = 6 * H;

export interface ScenarioDecision {
  seq: number;
  day: number;
  outcome: string;
  amountFen: number;
  plannedFen: number;
  reasons: string[];
  /** Every decision of the tranche in order, e.g. "hold>release" (held, then re-evaluated). */
  history: string;
}

export interface ScenarioResult {
  name: string;
  decisions: ScenarioDecision[];
  alerts: Array<{ kind: string; message: string }>;
  /** Evidence-quality findings stored for the batch's decision windows. */
  findings: Array<{ check: string; trancheSeq: number; message: string; unusable: boolean }>;
  commands: Array<{ device: string; name: string; args: Record<string, unknown>; day: number }>;
  text: string;
}

export function loadScenario(file: string): Scenario {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, "utf8"));
  } catch (e) {
    throw ERR_SCENARIO_FILE(`cannot read scenario ${file}: ${(e as Error).message}`);
  }
  const r = scenarioSchema.safeParse(raw);
  if (!r.success)
    throw ERR_SCENARIO_FILE(
      `${file}: ${problemsFromZod(r.error)
        .map((p) => `${p.path}: ${p.message}`)
        .join("; ")}`,
    );
  return r.data;
}

/**
 * What of a scenario's `expect`, `expectReasons` and `expectFindings` the replay did not give, one
 * line each; `barnlink scenario --check` fails with BL_SCENARIO_EXPECT when any.
 */
export function expectationProblems(s: Scenario, r: ScenarioResult): string[] {
  const out: string[] = [];
  const got = r.decisions.map((d) => d.history);
  if (s.expect && got.join(",") !== s.expect.join(","))
    out.push(`decisions ${got.join(", ")}; expected ${s.expect.join(", ")}`);
  for (const [seq, words] of Object.entries(s.expectReasons ?? {}))
    if (
      !r.decisions
        .find((d) => d.seq === Number(seq))
        ?.reasons.join(" ")
        .includes(words)
    )
      out.push(`tranche ${seq}: no reason containing "${words}"`);
  for (const check of s.expectFindings ?? [])
    if (!r.findings.some((f) => f.check === check)) out.push(`no ${check} finding`);
  return out;
}

/** Throws BL_SCENARIO_EXPECT naming every expectation the replay missed. */
export function assertExpectations(s: Scenario, r: ScenarioResult): void {
  const p = expectationProblems(s, r);
  if (p.length) throw ERR_SCENARIO_EXPECT(`scenario ${s.name}: ${p.join("; ")}`, { problems: p });
}

/**
 * `barnlink scenario FILE`: replays one batch through simulated time against a fresh cloud
 * database (a temporary SQLite file unless `db` is given): a synthetic gateway writes evidence
 * hour by hour, deliveries follow released tranches, and the engine ticks every 6 simulated hours.
 */
export async function runScenario(file: string, opts: { db?: Db } = {}): Promise<ScenarioResult> {
  const s = loadScenario(file);
  const profile = loadProfile(s.species);
  const db = opts.db ?? openDb(join(mkdtempSync(join(tmpdir(), "barnlink-scenario-")), "cloud.db"));
  if (!opts.db) await migrateToLatest(db);
  const placedAt = Date.parse(`${s.start}T00:00:00Z`);
  let now = placedAt - D;
  const barn = new SyntheticBarn(s, profile, "gw-barn1", "barn1", placedAt);
  const commands: ScenarioResult["commands"] = [];
  const ctx: CloudContext = {
    db,
    log: silentLogger,
    key: generateKeyPair(),
    now: () => now,
    async sendCommand(device, name, args) {
      commands.push({ device, name, args, day: Math.round(((now - placedAt) / D) * 10) / 10 });
      if (name === "census.interval" && typeof args.every === "string")
        barn.censusEveryMs = Number.parseInt(args.every, 10) * H;
    },
  };
  const k = db.kysely;
  try {
    await createBorrower(k, { id: "coop1", name: "Scenario co-operative", kind: "cooperative" }, now);
    await createSupplier(
      k,
      { id: "feedco", name: "Feed Co", account: "6222020200112233", bic: "ICBKCNBJ" },
      now,
    );
    await createFacility(
      k,
      {
        id: "fac1",
        borrowerId: "coop1",
        currency: "CNY",
        limitFen: s.limitFen,
        termStart: placedAt - D,
        termMonths: 14,
        maxDrawdownDays: 60,
        annualRate: s.annualRate,
        dayCount: "ACT/360",
        thresholds: s.thresholds,
        waterfall: ["fees", "interest", "principal"],
        debtor: { name: "Barnlink Rural Bank", account: "6228480010000001", bic: "ABOCCNBJ" },
      },
      now,
    );
    const days = s.days ?? profile.cycleDays;
    await createBatch(
      k,
      {
        id: "batch1",
        facilityId: "fac1",
        barn: "barn1",
        species: s.species,
        headPlaced: s.head,
        placedAt,
        trancheDays: 7,
        devices: [barn.device],
        supplierId: "feedco",
        feedPriceFenPerKg: s.feedPriceFenPerKg,
        livePriceFenPerKg: s.livePriceFenPerKg,
      },
      now,
    );
    const delivered = new Set<string>();
    for (; now <= placedAt + days * D; now += H) {
      barn.hour(now);
      // The engine reads only at its ticks, so what arrived since the last one is written then, each
      // record with its own arrival time (as hourly writes would have left the database at the tick).
      if ((now - placedAt) % TICK !== 0) continue;
      await barn.flush(db, now);
      await lendingTick(ctx, now);
      // The supplier delivers what each new payment order paid for, hours later (or short, or not).
      for (const o of await k
        .selectFrom("lending_payment_orders as o")
        .innerJoin("lending_tranches as t", "t.id", "o.tranche_id")
        .select(["o.id", "o.end_to_end_id", "t.seq", "t.released_kg", "t.released_at"])
        .execute()) {
        if (delivered.has(o.id)) continue;
        delivered.add(o.id);
        barn.supply(
          o.seq,
          Number(o.released_at) + s.deliveryDelayHours * H,
          Number(o.released_kg),
          o.end_to_end_id,
        );
      }
    }
    return await report(ctx, s, placedAt, commands);
  } finally {
    if (!opts.db) await db.close();
  }
}

async function report(
  ctx: CloudContext,
  s: Scenario,
  placedAt: number,
  commands: ScenarioResult["commands"],
): Promise<ScenarioResult> {
  const k = ctx.db.kysely;
  const tranches = await k
    .selectFrom("lending_tranches")
    .selectAll()
    .where("batch_id", "=", "batch1")
    .orderBy("seq")
    .execute();
  const decisions: ScenarioDecision[] = [];
  const lines = [`scenario: ${s.name}`, `  ${s.description.trim()}`, ""];
  for (const t of tranches) {
    const all = await k
      .selectFrom("lending_decisions")
      .selectAll()
      .where("tranche_id", "=", t.id)
      .orderBy("decided_at")
      .execute();
    if (all.length === 0) continue;
    for (const [i, d] of all.entries()) {
      const day = Math.round((Number(d.decided_at) - placedAt) / D);
      const reasons = JSON.parse(d.reasons) as string[];
      lines.push(
        `  day ${String(day).padStart(3)}  tranche ${i ? "  ".padEnd(String(t.seq).length) : t.seq}  ${d.outcome.padEnd(8)} ¥${yuan(Number(d.amount_fen)).padStart(12)}  ${reasons.join("; ")}`,
      );
    }
    const first = all[0]!;
    const last = all.at(-1)!;
    decisions.push({
      seq: t.seq,
      day: Math.round((Number(first.decided_at) - placedAt) / D),
      outcome: last.outcome,
      amountFen: Number(last.amount_fen),
      plannedFen: Number(t.planned_fen),
      reasons: all.flatMap((d) => JSON.parse(d.reasons) as string[]),
      history: all.map((d) => d.outcome).join(">"),
    });
  }
  const findings = (
    await k
      .selectFrom("quality_findings as f")
      .innerJoin("lending_tranches as t", "t.id", "f.tranche_id")
      .select(["f.check_id", "f.message", "f.unusable", "t.seq"])
      .where("f.batch_id", "=", "batch1")
      .orderBy("t.seq")
      .execute()
  ).map((f) => ({
    check: f.check_id,
    trancheSeq: Number(f.seq),
    message: f.message,
    unusable: Number(f.unusable) === 1,
  }));
  if (findings.length)
    lines.push(
      "",
      "  evidence-quality findings:",
      ...findings
        .filter((f) => f.check !== "dropout" || f.unusable)
        .map((f) => `    tranche ${f.trancheSeq} [${f.check}${f.unusable ? ", unusable" : ""}] ${f.message}`),
    );
  const alerts = (
    await k.selectFrom("lending_alerts").select(["kind", "message"]).orderBy("created_at").execute()
  ).map((a) => ({ kind: a.kind, message: a.message }));
  if (alerts.length) lines.push("", "  alerts:", ...alerts.map((a) => `    [${a.kind}] ${a.message}`));
  if (commands.length)
    lines.push(
      "",
      "  evidence demands:",
      ...commands.map((c) => `    day ${c.day}: ${c.device} ${c.name} ${JSON.stringify(c.args)}`),
    );
  return { name: s.name, decisions, alerts, findings, commands, text: `${lines.join("\n")}\n` };
}

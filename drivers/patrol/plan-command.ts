import { writeFileSync } from "node:fs";
import { ERR_PATROL_PLAN } from "./errors.ts";
import { type PatrolPlan, parsePlan } from "./plan.ts";

/** The cloud command that pushes a mission: `patrol.plan` {plan}. The link has verified its signature. */
export const PLAN_COMMAND = "patrol.plan";

/**
 * Validates a pushed plan, keeps it in `planFile` (so a restart runs it, not the config's older one)
 * and hands it over. A plan no newer than the one running is refused: a replayed or reordered
 * command cannot roll a mission back.
 */
export function applyPlanCommand(
  args: Record<string, unknown>,
  current: PatrolPlan | undefined,
  planFile: string | undefined,
): PatrolPlan {
  const plan = parsePlan(args.plan);
  if (current && plan.version.localeCompare(current.version, "en", { numeric: true }) <= 0)
    throw ERR_PATROL_PLAN(`plan version ${plan.version} is not newer than the running ${current.version}`);
  if (planFile) writeFileSync(planFile, `${JSON.stringify(plan, null, 2)}\n`, { mode: 0o600 });
  return plan;
}

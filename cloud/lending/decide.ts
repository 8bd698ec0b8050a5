import type { Decision, GateResult } from "./decision-types.ts";
import type { Thresholds } from "./thresholds.ts";

/**
 * Combines gate results into an outcome. Any failed gate among (a) devices, (c) environment,
 * (d) feed use, (e) delivery holds the tranche. (b) head count: at or above `headPass` of the plan
 * releases in full; between `headHold` and `headPass` releases feed for the verified head only;
 * below `headHold`, or with no census, holds.
 */
export function decide(
  gates: GateResult[],
  plan: { head: number; kg: number; feedPriceFenPerKg: number },
  th: Thresholds,
): Decision {
  const reasons: string[] = [];
  for (const g of gates) {
    if (g.gate !== "b" && g.applicable && !g.pass) reasons.push(`gate (${g.gate}) ${g.name}: ${g.reason}`);
  }
  const b = gates.find((g) => g.gate === "b");
  const verified = typeof b?.figures.verified === "number" ? b.figures.verified : null;
  const ratio = verified !== null && plan.head > 0 ? verified / plan.head : 0;
  if (b && !b.pass && (verified === null || ratio < th.headHold))
    reasons.push(`gate (b) ${b.name}: ${b.reason}`);
  if (reasons.length > 0) return { outcome: "hold", amountFen: 0, kg: 0, reasons, gates };
  if (b && !b.pass) {
    const kg = Math.floor((plan.kg * (verified ?? 0)) / plan.head);
    return {
      outcome: "reduced",
      amountFen: kg * plan.feedPriceFenPerKg,
      kg,
      reasons: [
        `gate (b) ${b.name}: ${b.reason}; released feed for the ${verified} head verified (${kg} of ${plan.kg} kg)`,
      ],
      gates,
    };
  }
  return {
    outcome: "release",
    amountFen: plan.kg * plan.feedPriceFenPerKg,
    kg: plan.kg,
    reasons: ["all gates passed"],
    gates,
  };
}

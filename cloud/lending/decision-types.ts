/** What a gate reports: pass/fail, the figures it used and the evidence records it read. */
export interface RecordRange {
  device: string;
  stream: string;
  fromSeq: number;
  toSeq: number;
  count: number;
  fromT: number;
  toT: number;
}

export interface GateResult {
  gate: "a" | "b" | "c" | "d" | "e";
  name: string;
  pass: boolean;
  /** False when the gate does not apply to this tranche (e.g. no previous delivery yet). */
  applicable: boolean;
  reason: string;
  figures: Record<string, number | string | boolean>;
  cites: RecordRange[];
}

export type Outcome = "release" | "reduced" | "hold";

export interface Decision {
  outcome: Outcome;
  amountFen: number;
  kg: number;
  reasons: string[];
  gates: GateResult[];
}

/**
 * True when a hold rests only on evidence that is missing or not yet placeable (silence, no census,
 * no readings, clock not synced): evidence arriving late may clear it, so the engine re-evaluates
 * the tranche (recheck.ts). A hold for what the evidence shows (heat, feed diverted, a replayed
 * census) is not re-evaluated.
 */
export function awaitsEvidence(d: Pick<Decision, "outcome" | "gates">): boolean {
  if (d.outcome !== "hold") return false;
  const failed = d.gates.filter((g) => g.applicable && !g.pass);
  return failed.length > 0 && failed.every((g) => g.figures.missing === true);
}

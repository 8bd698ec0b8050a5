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

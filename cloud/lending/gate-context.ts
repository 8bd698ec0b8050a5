import type { Finding } from "../quality/types.ts";
import type { EvidenceSet } from "./evidence-set.ts";
import type { SpeciesProfile } from "./profile.ts";
import type { LendingBatchesTable, LendingTranchesTable } from "./schema.ts";
import type { Thresholds } from "./thresholds.ts";

/**
 * Everything a gate needs: the batch, its profile and thresholds, the tranche and its evidence
 * window, with the evidence itself already loaded (`evidence` covers the window, its quality
 * lookback and the deliveries gate (e) judges): the gates are pure functions of it.
 */
export interface GateContext {
  evidence: EvidenceSet;
  batch: LendingBatchesTable;
  devices: string[];
  profile: SpeciesProfile;
  th: Thresholds;
  tranche: LendingTranchesTable;
  /** The last tranche of this batch that was released before this one, if any. */
  prevReleased: LendingTranchesTable | undefined;
  /** Every earlier tranche released, with its payment order's EndToEndId: gate (e) judges each delivery. */
  released: Array<LendingTranchesTable & { endToEndId: string | null }>;
  /** Evidence-quality findings for the window (cloud/quality); gates refuse evidence flagged unusable. */
  findings: Finding[];
  /** Evidence window: from the previous tranche's due time (or a day before placement) to now. */
  from: number;
  to: number;
  asOf: number;
}

export const ageDays = (ctx: GateContext, t: number) => (t - Number(ctx.batch.placed_at)) / 86_400_000;

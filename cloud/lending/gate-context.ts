import type { Kysely } from "kysely";
import type { DB } from "../db/schema.ts";
import type { Finding } from "../quality/types.ts";
import type { SpeciesProfile } from "./profile.ts";
import type { LendingBatchesTable, LendingTranchesTable } from "./schema.ts";
import type { Thresholds } from "./thresholds.ts";

/** Everything a gate needs: the batch, its profile and thresholds, the tranche and its evidence window. */
export interface GateContext {
  db: Kysely<DB>;
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

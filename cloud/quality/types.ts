/** What the evidence-quality analysis works on and what it reports (docs/evidence-quality.md). */

/** One stored record as the analysis reads it: capture time already corrected for clock faults. */
export interface QRow {
  device: string;
  stream: string;
  /** The stored record's stream when this row is one value of a `block` record (block-values.ts). */
  recordStream?: string;
  seq: number;
  kind: string;
  t: number;
  body: Record<string, unknown>;
}

/** The records a finding rests on, per device and stream (the same shape gate decisions cite). */
export interface Cite {
  device: string;
  stream: string;
  fromSeq: number;
  toSeq: number;
  count: number;
  fromT: number;
  toT: number;
}

export type Severity = "info" | "warning" | "critical";

export interface Finding {
  /** The check's id (registry.ts), e.g. "stuck". */
  check: string;
  severity: Severity;
  device: string | null;
  /** The stream the finding is about, or a cross-stream subject such as "census". */
  subject: string;
  /** True when gates must not rely on this subject's evidence in the window. */
  unusable: boolean;
  /** True when the evidence is not wrong but not (yet) placeable or present: a re-evaluation may clear it. */
  pending?: boolean;
  message: string;
  fromT: number;
  toT: number;
  figures: Record<string, number | string | boolean>;
  cites: Cite[];
}

/** Everything the checks read for one decision window, loaded once (load.ts). */
export interface QualityInput {
  batch: { id: string; barn: string; headPlaced: number; placedAt: number };
  devices: string[];
  /** The decision window; `lookbackFrom` is earlier, so replays of older days are visible. */
  from: number;
  to: number;
  asOf: number;
  lookbackFrom: number;
  /** device\0stream → numeric readings, oldest first, from lookbackFrom to `to`. */
  readings: Map<string, QRow[]>;
  census: QRow[];
  /** Sightings and media records: what carries frame hashes. */
  frames: QRow[];
  deliveries: QRow[];
  /** `event` records of herd movements (input "sale" / "death"). */
  herdEvents: QRow[];
  /** Records received by asOf whose clock had not synced and that no later sync has placed yet. */
  unplaced: Array<{ device: string; stream: string; count: number; fromSeq: number; toSeq: number }>;
  /** Records of the window placed by boot-id + monotonic correction. */
  corrected: Array<{ device: string; stream: string; count: number; fromSeq: number; toSeq: number }>;
  /** Feed per head per day by age (the species profile's curve). */
  intakeKgAt: (ageDays: number) => number;
}

export interface Check {
  id: string;
  title: string;
  run(input: QualityInput, p: import("./params.ts").QualityParams): Finding[];
}

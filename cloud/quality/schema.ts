/** Table types of the evidence-quality module (migration.ts). */
export interface QualityFindingsTable {
  id: string;
  batch_id: string;
  /** The tranche whose decision window was analysed. */
  tranche_id: string;
  check_id: string;
  severity: string;
  device: string | null;
  subject: string;
  unusable: number;
  pending: number;
  message: string;
  from_t: number;
  to_t: number;
  figures: string;
  /** The records the finding rests on: JSON array of {device, stream, fromSeq, toSeq, count, fromT, toT}. */
  cites: string;
  analysed_at: number;
}

export interface QualityTables {
  quality_findings: QualityFindingsTable;
}

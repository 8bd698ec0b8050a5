/**
 * Kysely table types for the lending engine. Money is integer fen (minor units) everywhere;
 * times are milliseconds since the epoch; JSON columns are text.
 */
export interface LendingBorrowersTable {
  id: string;
  name: string;
  kind: string;
  created_at: number;
}

export interface LendingSuppliersTable {
  id: string;
  name: string;
  account: string;
  bic: string | null;
  bank_name: string | null;
  created_at: number;
  /** China National Advanced Payment System bank code (12 digits), for accounts without a BIC. */
  cnaps: string | null;
}

export interface LendingFacilitiesTable {
  id: string;
  borrower_id: string;
  currency: string;
  limit_fen: number;
  /** Reserved plus drawn-and-unrepaid principal: the figure the limit is checked against, atomically. */
  committed_fen: number;
  term_start: number;
  term_end: number;
  max_drawdown_days: number;
  /** Annual rate in millionths (6% = 60000): integers keep interest exact. */
  rate_ppm: number;
  day_count: string;
  thresholds: string;
  waterfall: string;
  debtor_name: string;
  debtor_account: string;
  debtor_bic: string | null;
  created_at: number;
  /** Servicing terms as JSON (time zone, penalty, grace, fees): servicing-terms.ts. */
  servicing: string;
}

export interface LendingBatchesTable {
  id: string;
  facility_id: string;
  barn: string;
  species: string;
  head_placed: number;
  placed_at: number;
  cycle_days: number;
  tranche_days: number;
  devices: string;
  supplier_id: string;
  feed_price_fen_per_kg: number;
  live_price_fen_per_kg: number;
  status: string;
  evidence_level: number;
  /** Σ(balance_fen × rate_ppm) over accrued days, as a decimal BigInt string: interest = num / (360 × 10^6). */
  interest_num: string;
  interest_posted_fen: number;
  accrued_through: number;
  created_at: number;
  closed_at: number | null;
  written_off_at: number | null;
  /** Local day start up to which penalty interest is posted (0: none yet). */
  penalty_through: number;
}

export interface LendingTranchesTable {
  id: string;
  batch_id: string;
  seq: number;
  due_at: number;
  from_day: number;
  to_day: number;
  planned_head: number;
  planned_kg: number;
  planned_fen: number;
  status: string;
  released_fen: number;
  released_kg: number;
  released_at: number | null;
  maturity_at: number | null;
  decided_at: number | null;
}

export interface LendingDecisionsTable {
  id: string;
  tranche_id: string;
  outcome: string;
  amount_fen: number;
  reasons: string;
  gates: string;
  decided_by: string;
  decided_at: number;
}

export interface LendingOverridesTable {
  id: string;
  tranche_id: string;
  action: string;
  amount_fen: number;
  reason: string;
  maker: string;
  checker: string | null;
  status: string;
  created_at: number;
  decided_at: number | null;
  /** 1, or 2 for a release above the cap (planned amount / available limit). */
  approvals_needed: number;
  first_checker: string | null;
  closed_by: string | null;
  closed_reason: string | null;
}

export interface LendingReservationsTable {
  id: string;
  facility_id: string;
  tranche_id: string;
  amount_fen: number;
  status: string;
  created_at: number;
  expires_at: number;
  settled_at: number | null;
}

export interface LendingLedgerTxTable {
  id: string;
  facility_id: string;
  batch_id: string | null;
  kind: string;
  /** Unique business key ("release:<tranche>"): the database refuses a second posting of the same event. */
  ref: string;
  memo: string;
  corrects: string | null;
  posted_at: number;
}

export interface LendingLedgerEntriesTable {
  tx_id: string;
  line: number;
  account: string;
  /** Debit positive, credit negative: a transaction balances when its lines sum to zero. */
  amount_fen: number;
}

export interface LendingPaymentOrdersTable {
  id: string;
  tranche_id: string;
  facility_id: string;
  supplier_id: string;
  amount_fen: number;
  currency: string;
  end_to_end_id: string;
  status: string;
  file_id: string | null;
  attempts: number;
  created_at: number;
  sent_at: number | null;
  last_error: string | null;
  settled_at: number | null;
  return_reason: string | null;
}

export interface LendingPaymentFilesTable {
  id: string;
  xml: string;
  n: number;
  ctrl_sum_fen: number;
  created_at: number;
  /** exported (passed the schema) or rejected (failed it; its orders stayed new). */
  status: string;
  reason: string | null;
}

export interface LendingAlertsTable {
  id: string;
  facility_id: string;
  batch_id: string | null;
  kind: string;
  severity: string;
  message: string;
  detail: string;
  /** One alert per condition per day: repeated ticks do not flood the officer. */
  dedupe: string;
  created_at: number;
  acked_by: string | null;
  acked_at: number | null;
}

export interface LendingIdempotencyTable {
  key: string;
  method: string;
  path: string;
  request_hash: string;
  status_code: number;
  response: string | null;
  created_at: number;
}

export interface LendingDemandsTable {
  id: string;
  batch_id: string;
  device: string;
  name: string;
  args: string;
  level: number;
  reason: string;
  sent_at: number;
}

export interface LendingBatchClaimsTable {
  /** "barn:<barn>" or "device:<id>": one open batch per barn and per device. */
  key: string;
  batch_id: string;
}

export interface LendingAuditTable {
  seq: number;
  at: number;
  actor: string;
  role: string;
  action: string;
  request: string;
  status: number;
  result: string;
  prev_hash: string;
  hash: string;
}

export interface LendingBankReportsTable {
  id: string;
  kind: string;
  body: string;
  result: string;
  created_at: number;
}

export interface LendingPricesTable {
  series: string;
  at: number;
  fen_per_kg: number;
  source: string;
}

export interface LendingTables {
  lending_borrowers: LendingBorrowersTable;
  lending_suppliers: LendingSuppliersTable;
  lending_facilities: LendingFacilitiesTable;
  lending_batches: LendingBatchesTable;
  lending_tranches: LendingTranchesTable;
  lending_decisions: LendingDecisionsTable;
  lending_overrides: LendingOverridesTable;
  lending_reservations: LendingReservationsTable;
  lending_ledger_tx: LendingLedgerTxTable;
  lending_ledger_entries: LendingLedgerEntriesTable;
  lending_payment_orders: LendingPaymentOrdersTable;
  lending_payment_files: LendingPaymentFilesTable;
  lending_alerts: LendingAlertsTable;
  lending_idempotency: LendingIdempotencyTable;
  lending_demands: LendingDemandsTable;
  lending_batch_claims: LendingBatchClaimsTable;
  lending_audit: LendingAuditTable;
  lending_bank_reports: LendingBankReportsTable;
  lending_prices: LendingPricesTable;
}

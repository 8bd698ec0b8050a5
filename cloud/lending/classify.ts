/**
 * Loan classification in China's five categories (五级分类: 正常, 关注, 次级, 可疑, 损失), by days past
 * due as the 2023 NFRA/PBOC rules on risk classification of financial assets set the floors:
 * overdue at all → at least special mention; over 90 days → at least substandard; over 270 →
 * at least doubtful; over 360 → loss. A written-off loan is loss. Provision rates are the lender's
 * starting point (the PBOC 2002 guideline's general/specific reserve rates: 1%, 2%, 25%, 50%, 100%).
 */
export const CATEGORIES = ["normal", "special_mention", "substandard", "doubtful", "loss"] as const;
export type Category = (typeof CATEGORIES)[number];

export const PROVISION_PPM: Record<Category, number> = {
  normal: 10_000,
  special_mention: 20_000,
  substandard: 250_000,
  doubtful: 500_000,
  loss: 1_000_000,
};

export function classify(daysPastDue: number, writtenOff = false): Category {
  if (writtenOff || daysPastDue > 360) return "loss";
  if (daysPastDue > 270) return "doubtful";
  if (daysPastDue > 90) return "substandard";
  if (daysPastDue > 0) return "special_mention";
  return "normal";
}

/** The allowance a category needs on an outstanding principal, in fen (rounded half-up). */
export function provisionFor(category: Category, principalFen: number): number {
  return Math.floor((principalFen * PROVISION_PPM[category] * 2 + 1_000_000) / 2_000_000);
}

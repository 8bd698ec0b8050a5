/**
 * How serious a census shortfall is, from the evidence itself. A head or two short on a small pen
 * is what one missed face (a pig asleep behind another) looks like, not deaths: a lender paged with
 * a "critical mortality" for it learns to ignore the page. Critical needs a shortfall that no
 * counting slip explains: at least 3 head AND three times the facility's mortality slack.
 */
export function mortalitySeverity(
  expected: number,
  counted: number,
  slack: number,
): "info" | "warning" | "critical" {
  const missing = expected - counted;
  const share = expected > 0 ? missing / expected : 0;
  if (missing < 2) return "info";
  if (missing >= 3 && share >= 3 * slack) return "critical";
  return "warning";
}

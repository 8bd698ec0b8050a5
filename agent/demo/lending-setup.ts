import type { CloudContext } from "../../cloud/context.ts";
import { batchInput, borrowerInput, facilityInput, supplierInput } from "../../cloud/lending/domain.ts";
import { createBatch, createBorrower, createFacility, createSupplier } from "../../cloud/lending/setup.ts";
import type { DemoBarn } from "./configs.ts";

/**
 * The demo's loan: one co-operative credit line (¥20 million, 14 months, ≤ 60-day drawdowns, as in
 * the digital farm loan model) financing a finishing-pig batch in each demo barn, with feed paid in
 * daily tranches (short, so a 30-second demo shows several decisions) to one feed supplier.
 */
export async function seedDemoLending(ctx: CloudContext, barns: DemoBarn[], placedAt: number): Promise<void> {
  const db = ctx.db.kysely;
  const now = ctx.now();
  const borrower = await createBorrower(
    db,
    borrowerInput.parse({ id: "hillside-coop", name: "Hillside Pig Co-operative", kind: "cooperative" }),
    now,
  );
  const supplier = await createSupplier(
    db,
    supplierInput.parse({
      id: "golden-feed",
      name: "Golden Valley Feed Co.",
      account: "6222020200112233445",
      bic: "ICBKCNBJXXX",
      bankName: "ICBC",
    }),
    now,
  );
  const facility = await createFacility(
    db,
    facilityInput.parse({
      id: "hillside-2026",
      borrowerId: borrower.id,
      limitFen: 2_000_000_000,
      termStart: placedAt - 86_400_000,
      termMonths: 14,
      maxDrawdownDays: 60,
      annualRate: "4.35%",
      waterfall: ["fees", "interest", "principal"],
      // The smallholder's pen takes ~15 kg deliveries: count silo rises from 5 kg.
      thresholds: { deliveryMinStepKg: 5 },
      debtor: { name: "Hillside Pig Co-operative", account: "6222020200998877665", bic: "ABOCCNBJXXX" },
    }),
    now,
  );
  for (const b of barns) {
    await createBatch(
      db,
      batchInput.parse({
        id: `batch-${b.device}`,
        facilityId: facility.id,
        barn: b.device,
        species: "finishing-pig",
        headPlaced: b.head,
        placedAt,
        trancheDays: 1,
        devices: [b.device],
        supplierId: supplier.id,
        feedPriceFenPerKg: 320,
        livePriceFenPerKg: 1600,
      }),
      now,
    );
  }
}

import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../db/connect.ts";

/**
 * Patrol alarm reviews: an operator's verdict on one violation (a check at a checkpoint in a round),
 * once. Inspections themselves stay in `records` (the signed evidence); this table only adds what
 * a person decided about them.
 */
export function patrol0400(dialect: Dialect): Migration {
  const big = dialect === "postgres" ? "bigint" : "integer";
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("patrol_reviews")
        .addColumn("device", "text", (c) => c.notNull())
        .addColumn("round", big, (c) => c.notNull())
        .addColumn("checkpoint", "text", (c) => c.notNull())
        .addColumn("check_id", "text", (c) => c.notNull())
        .addColumn("verdict", "text", (c) => c.notNull())
        .addColumn("note", "text", (c) => c.notNull())
        .addColumn("reviewed_by", "text", (c) => c.notNull())
        .addColumn("reviewed_at", big, (c) => c.notNull())
        .addPrimaryKeyConstraint("patrol_reviews_pk", ["device", "round", "checkpoint", "check_id"])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("patrol_reviews").execute();
    },
  };
}

export interface PatrolTables {
  patrol_reviews: {
    device: string;
    round: number;
    checkpoint: string;
    check_id: string;
    verdict: string;
    note: string;
    reviewed_by: string;
    reviewed_at: number;
  };
}

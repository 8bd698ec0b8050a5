import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../db/connect.ts";

/** Evidence-quality findings, per analysed decision window, with the records each cites. */
export function qualityFindings0010(dialect: Dialect): Migration {
  const big = dialect === "postgres" ? "bigint" : "integer";
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("quality_findings")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("batch_id", "text", (c) => c.notNull())
        .addColumn("tranche_id", "text", (c) => c.notNull())
        .addColumn("check_id", "text", (c) => c.notNull())
        .addColumn("severity", "text", (c) => c.notNull())
        .addColumn("device", "text")
        .addColumn("subject", "text", (c) => c.notNull())
        .addColumn("unusable", "integer", (c) => c.notNull())
        .addColumn("pending", "integer", (c) => c.notNull())
        .addColumn("message", "text", (c) => c.notNull())
        .addColumn("from_t", big, (c) => c.notNull())
        .addColumn("to_t", big, (c) => c.notNull())
        .addColumn("figures", "text", (c) => c.notNull())
        .addColumn("cites", "text", (c) => c.notNull())
        .addColumn("analysed_at", big, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("quality_findings_batch")
        .on("quality_findings")
        .columns(["batch_id", "tranche_id"])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("quality_findings").execute();
    },
  };
}

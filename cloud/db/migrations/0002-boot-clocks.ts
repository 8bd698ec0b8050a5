import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../connect.ts";

/**
 * Per (device, boot): wall minus monotonic time, learnt from the boot's first synchronised record.
 * Records of that boot captured before the clock synced get t_corrected = t_mono + offset.
 */
export function bootClocks0002(dialect: Dialect): Migration {
  const big = dialect === "postgres" ? "bigint" : "integer";
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("boot_clocks")
        .addColumn("device", "text", (c) => c.notNull())
        .addColumn("boot", "text", (c) => c.notNull())
        .addColumn("offset_ms", big, (c) => c.notNull())
        .addColumn("learnt_at", big, (c) => c.notNull())
        .addPrimaryKeyConstraint("boot_clocks_pk", ["device", "boot"])
        .execute();
      // Finding a boot's unsynchronised records to correct them.
      await db.schema
        .createIndex("records_boot_unsynced")
        .on("records")
        .columns(["device", "t_boot", "t_synced"])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex("records_boot_unsynced").execute();
      await db.schema.dropTable("boot_clocks").execute();
    },
  };
}

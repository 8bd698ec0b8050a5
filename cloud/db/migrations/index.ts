import type { Migration } from "kysely";
import { lending0100 } from "../../lending/migration.ts";
import { patrol0400 } from "../../patrol/migration.ts";
import type { Dialect } from "../connect.ts";
import { evidence0001 } from "./0001-evidence.ts";
import { bootClocks0002 } from "./0002-boot-clocks.ts";
import { commands0003 } from "./0003-commands.ts";

/**
 * Every module's migrations, by name. Names sort in apply order: 00xx evidence and ingest,
 * 01xx lending, 02xx models and faces, 03xx dashboard, 04xx patrol. Never edit a shipped migration: add one.
 */
export function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    "0001_evidence": evidence0001(dialect),
    "0002_boot_clocks": bootClocks0002(dialect),
    "0003_commands": commands0003(dialect),
    "0100_lending_core": lending0100(dialect),
    "0400_patrol_reviews": patrol0400(dialect),
  };
}

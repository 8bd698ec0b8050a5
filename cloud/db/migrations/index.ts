import type { Migration } from "kysely";
import { enrol0022 } from "../../enrol/migration.ts";
import { fleet0300 } from "../../fleet/migration.ts";
import { lending0100 } from "../../lending/migration.ts";
import { lending0101 } from "../../lending/migration-0101.ts";
import { lending0102 } from "../../lending/migration-0102.ts";
import { models0200 } from "../../models/migration.ts";
import { patrol0400 } from "../../patrol/migration.ts";
import { qualityFindings0010 } from "../../quality/migration.ts";
import type { Dialect } from "../connect.ts";
import { evidence0001 } from "./0001-evidence.ts";
import { bootClocks0002 } from "./0002-boot-clocks.ts";
import { commands0003 } from "./0003-commands.ts";
import { streamGenerations0004 } from "./0004-stream-generations.ts";
import { brokerCredentials0020 } from "./0020-broker-credentials.ts";
import { rejectSamples0021 } from "./0021-reject-samples.ts";
import { ingestMembers0500 } from "./0500-ingest-members.ts";

/**
 * Every module's migrations, by name. Names sort in apply order: 00xx evidence and ingest,
 * 01xx lending, 02xx models and faces, 03xx dashboard and fleet operations, 04xx patrol, 05xx
 * ingest routing (after 0400 although it is ingest: a new migration should sort after every one an
 * existing database has applied; one that does not, like 0004, is still applied late, see
 * migrate.ts and migrate.test.ts). Never edit a shipped migration: add one.
 */
export function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    "0001_evidence": evidence0001(dialect),
    "0002_boot_clocks": bootClocks0002(dialect),
    "0003_commands": commands0003(dialect),
    "0004_stream_generations": streamGenerations0004(dialect),
    "0010_quality_findings": qualityFindings0010(dialect),
    "0020_broker_credentials": brokerCredentials0020(dialect),
    "0021_reject_samples": rejectSamples0021(dialect),
    "0022_enrol": enrol0022(dialect),
    "0100_lending_core": lending0100(dialect),
    "0101_lending_servicing": lending0101(dialect),
    "0102_lending_immutable": lending0102(dialect),
    "0200_model_adapt_jobs": models0200(dialect),
    "0300_fleet_requests": fleet0300(dialect),
    "0400_patrol_reviews": patrol0400(dialect),
    "0500_ingest_members": ingestMembers0500(dialect),
  };
}

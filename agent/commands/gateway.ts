import { type LazyCommand, lazy } from "../cli-kit.ts";

// The commands of a barn gateway, imported lazily like every command (index.ts lists these too).
// They alone make the gateway bundle, dist/barnlink-agent.mjs (agent/agent-entry.ts), so nothing
// here may lead to cloud code: test/e2e/agent-loads.test.ts follows every import of that bundle.
export const gatewayCommands: LazyCommand[] = [
  lazy("agent", "Run the gateway agent: sources → outbox → MQTT", () =>
    import("./agent-run.ts").then((m) => m.agentRun),
  ),
  lazy(
    "agent node-flags",
    "Print the node flags the gateway's config calls for (the systemd unit runs it before the agent)",
    () => import("./node-flags.ts").then((m) => m.nodeFlagsCmd),
  ),
  lazy("status", "Per stream: last seq appended, last seq acknowledged, records pending", () =>
    import("./status.ts").then((m) => m.status),
  ),
  lazy(
    "keys show",
    "Print this gateway's public key (register it in the cloud); creates the key if missing",
    () => import("./agent-run.ts").then((m) => m.keysShow),
  ),
  lazy(
    "keys rotate",
    "Replace this gateway's device key and broker password (the old ones work for an overlap)",
    () => import("./provision.ts").then((m) => m.keysRotate),
  ),
  lazy(
    "provision",
    "Enrol this gateway with an admin's one-time token: key, broker login, client certificate",
    () => import("./provision.ts").then((m) => m.provision),
  ),
  lazy("drivers list", "List the drivers a source can use, one line each", () =>
    import("./drivers.ts").then((m) => m.driversListCmd),
  ),
  lazy(
    "drivers probe",
    "Read every configured device once and print its values or the precise error (installers)",
    () => import("./drivers.ts").then((m) => m.driversProbeCmd),
  ),
  lazy("drivers sample", "Print a driver's annotated sample source config (paste it under sources:)", () =>
    import("./drivers.ts").then((m) => m.driversSampleCmd),
  ),
  lazy(
    "upgrade",
    "Install a release beside the running one, switch, health-check, roll back by itself if it fails",
    () => import("./upgrade.ts").then((m) => m.upgradeCmd),
  ),
  lazy(
    "patrol calibrate",
    "Read a checkpoint's regions on a snapshot, save what a healthy panel shows as the checks' expectations",
    () => import("./patrol.ts").then((m) => m.patrolCalibrate),
  ),
  lazy("decode", "Print the records of up-batches (file or stdin) as JSON lines", () =>
    import("./decode.ts").then((m) => m.decode),
  ),
];

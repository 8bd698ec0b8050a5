import type { CommandSpec, LazyCommand } from "../cli-kit.ts";
import { lazy } from "../cli-kit.ts";
import { gatewayCommands } from "./gateway.ts";

// Every `barnlink` subcommand, one line each, imported only when it runs (a command's module may
// pull in the cloud, tfjs or sharp; `barnlink agent` on a gateway must load none of them:
// test/e2e/agent-loads.test.ts). A group (`model`) loads its commands together. The summary here is
// what `barnlink --help` prints; agent/cli.test.ts checks it is the command's own. The gateway's
// commands (agent, status, keys show, drivers, decode) are in gateway.ts.
export const commands: Array<LazyCommand | CommandSpec> = [
  lazy("demo", "Run broker, cloud and simulated barns together (what `npm start` runs)", () =>
    import("./demo.ts").then((m) => m.demo),
  ),
  ...gatewayCommands,
  lazy(
    "config check",
    "Validate an agent or cloud config; print every problem with its path (exit 2 if any)",
    () => import("./config-check.ts").then((m) => m.configCheck),
  ),
  lazy("broker", "Run the embedded MQTT broker (aedes) with the cloud registry's logins and ACLs", () =>
    import("./broker.ts").then((m) => m.broker),
  ),
  lazy("cloud run", "Run the cloud service: ingest over MQTT, lending engine, HTTP API and dashboard", () =>
    import("./cloud.ts").then((m) => m.cloudRun),
  ),
  lazy(
    "cloud key",
    "Print the cloud's public key (agents put it in cloud.publicKey); creates the key if missing",
    () => import("./cloud.ts").then((m) => m.cloudKey),
  ),
  lazy(
    "cloud enrol",
    "Make a single-use enrolment token for a gateway id (it runs `barnlink provision --token`)",
    () => import("./enrol.ts").then((m) => m.cloudEnrol),
  ),
  lazy("cloud token", "API tokens in the database: create (shown once), list, revoke", () =>
    import("./enrol.ts").then((m) => m.cloudToken),
  ),
  lazy("devices add", "Register a device's public key with the cloud (its data is rejected until then)", () =>
    import("./cloud.ts").then((m) => m.devicesAdd),
  ),
  lazy("devices list", "List registered devices", () => import("./cloud.ts").then((m) => m.devicesList)),
  lazy("devices revoke", "Revoke a device: its data is refused and its broker logins stop working", () =>
    import("./enrol.ts").then((m) => m.devicesRevoke),
  ),
  lazy(
    "devices secret",
    "Issue a registered device's broker password (shown once); --rotate keeps the old one for OVERLAP",
    () => import("./broker-config.ts").then((m) => m.devicesSecret),
  ),
  lazy(
    "broker-config mosquitto",
    "Write a Mosquitto config, password file and ACL from the cloud's device registry",
    () => import("./broker-config.ts").then((m) => m.brokerConfigMosquitto),
  ),
  lazy("fleet", "Remote operations on gateways through the cloud: config-apply (with rollback), status", () =>
    import("./fleet.ts").then((m) => m.fleetCommands),
  ),
  lazy("certs", "A small CA for a deployment: init, issue server and device certificates, list, revoke", () =>
    import("./certs.ts").then((m) => m.certs),
  ),
  lazy(
    "loadgen",
    "Simulate N gateways each sending R readings/s (own key, MQTT connection, chained stream)",
    () => import("./loadgen.ts").then((m) => m.loadgen),
  ),
  lazy(
    "scenario",
    "Replay a lending scenario file through simulated time and print the tranche decisions",
    () => import("./scenario.ts").then((m) => m.scenario),
  ),
  lazy(
    "model",
    "Pig-face models: synth, train, adapt, upload, eval, enrol, claim, publish, install, rollback, current",
    () => import("./model.ts").then((m) => m.modelCommands),
  ),
];

import type { CommandSpec } from "../cli-kit.ts";
import { agentRun, keysShow } from "./agent-run.ts";
import { broker } from "./broker.ts";
import { cloudKey, cloudRun, devicesAdd, devicesList } from "./cloud.ts";
import { configCheck } from "./config-check.ts";
import { decode } from "./decode.ts";
import { demo } from "./demo.ts";
import { driversListCmd, driversProbeCmd } from "./drivers.ts";
import { loadgen } from "./loadgen.ts";
import { modelCommands } from "./model.ts";
import { patrolCalibrate } from "./patrol.ts";
import { scenario } from "./scenario.ts";
import { status } from "./status.ts";

/** Every `barnlink` subcommand. One line each. */
export const commands: CommandSpec[] = [
  demo,
  agentRun,
  status,
  keysShow,
  configCheck,
  decode,
  broker,
  cloudRun,
  cloudKey,
  devicesAdd,
  devicesList,
  loadgen,
  driversListCmd,
  driversProbeCmd,
  scenario,
  ...modelCommands,
  patrolCalibrate,
];

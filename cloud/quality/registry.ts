import { airCoherence } from "./checks/air-coherence.ts";
import { censusVsPlaced } from "./checks/census-vs-placed.ts";
import { clock } from "./checks/clock.ts";
import { dropout } from "./checks/dropout.ts";
import { feedVsHerd } from "./checks/feed-vs-herd.ts";
import { impossible } from "./checks/impossible.ts";
import { nearFrames } from "./checks/near-frames.ts";
import { noisy } from "./checks/noisy.ts";
import { repeatedFrames } from "./checks/repeated-frames.ts";
import { replayCensus } from "./checks/replay-census.ts";
import { replayReadings } from "./checks/replay-readings.ts";
import { siloVsDeliveries } from "./checks/silo-vs-deliveries.ts";
import { smooth } from "./checks/smooth.ts";
import { stuck } from "./checks/stuck.ts";
import type { Check } from "./types.ts";

/** Every evidence-quality check, in the order findings are listed. Add a check: one file, one line. */
export const CHECKS: readonly Check[] = [
  clock,
  stuck,
  smooth,
  impossible,
  replayReadings,
  replayCensus,
  repeatedFrames,
  nearFrames,
  censusVsPlaced,
  noisy,
  feedVsHerd,
  siloVsDeliveries,
  airCoherence,
  dropout,
];

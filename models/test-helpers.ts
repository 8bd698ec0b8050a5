import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import type { Clock } from "../core/clock.ts";
import { silentLogger } from "../core/log.ts";
import type { AlarmInput, Reading, SourceContext } from "../drivers/types.ts";
import { saveNetwork } from "./embed/embedder.ts";
import { buildNetwork } from "./embed/network.ts";

const root = join(tmpdir(), `bl-models-${process.pid}`);
// Registered while the importing test file is collected: its temp files go when the file is done.
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fresh path under the test process's temp folder (removed after each test file). */
export function tmpPath(name: string): string {
  mkdirSync(root, { recursive: true });
  return join(root, `${name}-${Math.random().toString(36).slice(2)}`);
}

/** An untrained model directory with a minimal card (rollout tests need files, not accuracy). */
export async function tinyModelDir(version: string): Promise<string> {
  const dir = tmpPath(version);
  mkdirSync(dir, { recursive: true });
  await saveNetwork(buildNetwork(), dir);
  writeFileSync(join(dir, "card.json"), JSON.stringify({ name: "pigface", version, threshold: 0.5 }));
  return dir;
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.UTC(2026, 0, 1)): Clock & { advance(ms: number): void } {
  let wall = start;
  let mono = 0;
  return {
    now: () => ({ wall, boot: "test", mono, synced: true }),
    mono: () => mono,
    advance(ms: number) {
      wall += ms;
      mono += ms;
    },
  };
}

/** A SourceContext that records what a source emits and raises. */
export function recordingContext(
  clock: Clock,
): SourceContext & { readings: Reading[]; alarms: AlarmInput[] } {
  const readings: Reading[] = [];
  const alarms: AlarmInput[] = [];
  return {
    clock,
    log: silentLogger,
    readings,
    alarms,
    emit: (r) => readings.push(...r),
    alarm: (a) => alarms.push(a),
    count: () => {},
    signal: new AbortController().signal,
  };
}

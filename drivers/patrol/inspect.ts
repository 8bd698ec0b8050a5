import type { Frame } from "../camera-types.ts";
import type { CheckpointPlan, Region } from "./plan.ts";
import { decodeRgb } from "./vision/image.ts";
import { type CheckResult, type DecodedFrame, limitChecks, runCheck } from "./vision/run-checks.ts";

export interface Inspection {
  round: number;
  checkpoint: string;
  plan: string;
  arrivedAt: number;
  readings: Record<string, number | boolean>;
  checks: CheckResult[];
  ok: boolean;
  violations: string[];
  battery?: number;
  pose?: { x: number; y: number; theta: number };
}

/**
 * One checkpoint's inspection: the robot's readings against the plan's limits, then each camera
 * check on the burst. `ok` is false only for a check that ran and failed; a check that could not
 * run (no frame, unreadable) is listed as skipped with its reason and is not a violation.
 */
export async function inspect(
  cp: CheckpointPlan,
  o: {
    round: number;
    plan: string;
    arrivedAt: number;
    readings: Record<string, number | boolean>;
    frames: Frame[];
    cameraMissing?: string;
    battery?: number;
    pose?: { x: number; y: number; theta: number };
  },
): Promise<{ body: Inspection; framesBySha: Map<string, Frame> }> {
  const decoded: DecodedFrame[] = [];
  for (const f of o.frames) {
    try {
      decoded.push({ rgb: await decodeRgb(f.jpeg), sha256: f.sha256 });
    } catch {
      // An undecodable frame is not evidence of anything: the checks run on the others.
    }
  }
  const checks = [
    ...limitChecks(cp.limits, o.readings),
    ...cp.checks.map((c) =>
      o.cameraMissing
        ? {
            id: c.id,
            type: c.type,
            expected: "",
            seen: "",
            ok: null,
            skipped: o.cameraMissing,
            region: c.region as Region,
          }
        : runCheck(c, decoded),
    ),
  ];
  const violations = checks
    .filter((c) => c.ok === false)
    .map((c) => `${c.id}: expected ${c.expected}, seen ${c.seen}`.slice(0, 256));
  return {
    body: {
      round: o.round,
      checkpoint: cp.id,
      plan: o.plan,
      arrivedAt: o.arrivedAt,
      readings: o.readings,
      checks,
      ok: violations.length === 0,
      violations,
      ...(o.battery !== undefined ? { battery: o.battery } : {}),
      ...(o.pose ? { pose: o.pose } : {}),
    },
    framesBySha: new Map(o.frames.map((f) => [f.sha256, f])),
  };
}

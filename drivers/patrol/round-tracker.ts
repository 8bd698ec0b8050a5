import type { PatrolPlan } from "./plan.ts";

export interface RoundSummary {
  round: number;
  plan: string;
  startedAt: number;
  endedAt: number;
  planned: string[];
  visited: string[];
  skipped: Array<{ checkpoint: string; reason: string }>;
  violations: number;
  battery?: number;
}

/**
 * One round from undock to dock: what the plan asked for, what the robot visited, what it skipped
 * and why. A planned checkpoint with neither an arrival nor a skip is reported as not visited.
 */
export class RoundTracker {
  private cur?: {
    round: number;
    plan: PatrolPlan;
    startedAt: number;
    visited: string[];
    skipped: Map<string, string>;
    violations: number;
  };

  get active() {
    return this.cur !== undefined;
  }
  get round() {
    return this.cur?.round;
  }
  get plan() {
    return this.cur?.plan;
  }

  /** A round is numbered by its start (epoch seconds): unique across agent restarts, in order. */
  begin(plan: PatrolPlan, wall: number): number {
    const round = Math.floor(wall / 1000);
    this.cur = { round, plan, startedAt: wall, visited: [], skipped: new Map(), violations: 0 };
    return round;
  }

  visited(checkpoint: string, violations: number) {
    if (!this.cur) return;
    if (!this.cur.visited.includes(checkpoint)) this.cur.visited.push(checkpoint);
    this.cur.skipped.delete(checkpoint);
    this.cur.violations += violations;
  }

  skipped(checkpoint: string, reason: string) {
    if (this.cur && !this.cur.visited.includes(checkpoint)) this.cur.skipped.set(checkpoint, reason);
  }

  /** Ends the round; undefined when none was running (docked twice). */
  end(wall: number, battery?: number): RoundSummary | undefined {
    const c = this.cur;
    if (!c) return undefined;
    this.cur = undefined;
    const planned = c.plan.checkpoints.map((p) => p.id);
    for (const p of planned)
      if (!c.visited.includes(p) && !c.skipped.has(p))
        c.skipped.set(p, "not visited: no arrival from the robot");
    return {
      round: c.round,
      plan: c.plan.version,
      startedAt: c.startedAt,
      endedAt: wall,
      planned,
      visited: [...c.visited],
      skipped: planned
        .filter((p) => c.skipped.has(p))
        .map((p) => ({ checkpoint: p, reason: c.skipped.get(p)! })),
      violations: c.violations,
      ...(battery !== undefined ? { battery } : {}),
    };
  }
}

import type { QRow } from "./types.ts";

/** Head moved out of the barn by recorded herd events (`event` records, input "sale" or "death") up to `t`. */
export function herdMoves(events: QRow[], t: number): { sold: number; died: number } {
  let sold = 0;
  let died = 0;
  for (const e of events) {
    if (e.t > t) continue;
    const head = Number((e.body.detail as { head?: unknown } | undefined)?.head ?? 0);
    if (!Number.isFinite(head) || head <= 0) continue;
    if (e.body.input === "sale") sold += head;
    else if (e.body.input === "death") died += head;
  }
  return { sold, died };
}

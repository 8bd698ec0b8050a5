import { statfsSync } from "node:fs";
import { dirname } from "node:path";
import { monoMs } from "../../core/clock.ts";
import { ERR_STORAGE } from "../../core/errors.ts";
import { PRIORITY, priorityOf } from "../kinds.ts";
import { type EvictedRange, evictOldest } from "./evict.ts";
import type { OutboxParts } from "./sqlite-layout.ts";
import { linkAt } from "./sqlite-links.ts";
import type { AppendInput } from "./types.ts";

const freeDiskOf = (dir: string) => {
  const s = statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
};

/**
 * Before an append: evict media, then the oldest telemetry, while over quota or under the disk
 * floor. When only never-evict data is left the outbox is full: telemetry and media are refused
 * (BL_OUTBOX_FULL), evidence is still taken until the free-disk floor, alarms always.
 */
export function makeRoom(
  ob: OutboxParts,
  items: AppendInput[],
  canonicals: string[],
): Set<number> | undefined {
  const { quota, minFreeDisk } = ob.opts;
  if (quota === undefined && minFreeDisk === undefined) return;
  const incoming = canonicals.reduce((n, c) => n + c.length + 64, 0);
  const now = monoMs();
  if (minFreeDisk !== undefined && now - ob.diskCheckedAt > 1000) {
    // Pages freed by eviction or acks are reused by later inserts: they count as free space.
    const freePages = Number(ob.db.pragma("freelist_count", { simple: true }));
    const pageSize = Number(ob.db.pragma("page_size", { simple: true }));
    ob.freeDisk = (ob.opts.freeDisk ?? freeDiskOf)(dirname(ob.path)) + freePages * pageSize;
    ob.diskCheckedAt = now;
  }
  let need = 0;
  if (quota !== undefined && ob.totalBytes + incoming > quota)
    need = ob.totalBytes + incoming - Math.floor(quota * 0.9);
  if (minFreeDisk !== undefined && ob.freeDisk - incoming < minFreeDisk)
    need = Math.max(need, minFreeDisk - ob.freeDisk + incoming + 1024 * 1024);
  if (need > 0) evict(ob, need);
  const overQuota = quota !== undefined && ob.totalBytes + incoming > quota;
  const belowFloor = minFreeDisk !== undefined && ob.freeDisk - incoming < minFreeDisk;
  setFull(ob, overQuota || belowFloor);
  // The disk is asked at most once a second (statfs and two pragmas): in between, what is stored
  // comes off the figure, so the floor holds within the second too (the next check corrects it).
  let kept = incoming;
  let refused: Set<number> | undefined;
  if (overQuota || belowFloor) {
    // Refused alone: telemetry and media over quota, everything but alarms below the disk floor.
    // Evidence and alarms in the same call are kept (they are never refused for quota).
    refused = new Set<number>();
    for (let i = 0; i < items.length; i++) {
      const p = priorityOf(items[i]!.kind);
      if (p >= PRIORITY.telemetry || (belowFloor && p > PRIORITY.alarm)) {
        refused.add(i);
        kept -= canonicals[i]!.length + 64;
      }
    }
  }
  if (minFreeDisk !== undefined) ob.freeDisk -= kept;
  return refused;
}

function evict(ob: OutboxParts, need: number) {
  let ranges: EvictedRange[] = [];
  const streams = [...ob.streams.entries()]
    .filter(([name]) => !ob.damaged.has(name))
    .map(([name, s]) => ({ stream: name, sid: s.sid, priority: s.priority }));
  try {
    ranges = ob.db.transaction(() =>
      evictOldest(ob.db, need, "quota", {
        streams,
        priorityOfKid: (kid) => ob.kindPriority.get(kid) ?? PRIORITY.telemetry,
        linkAt: (stream, seq) => {
          try {
            return linkAt(ob, stream, ob.streams.get(stream)!, seq);
          } catch (e) {
            ob.hold(stream, e);
            return undefined;
          }
        },
      }),
    )();
  } catch (e) {
    throw ERR_STORAGE(`outbox eviction failed: ${(e as Error).message}`, undefined, e);
  }
  for (const r of ranges) {
    const s = ob.streams.get(r.stream)!;
    s.pending -= r.count;
    s.pendingBytes -= r.bytes;
    s.evicted += r.count;
    if (r.to >= s.lastSeq) s.tail = false;
    ob.totalBytes -= r.bytes;
    // Deleting rows frees pages for reuse, not disk: count them as free so the floor is not re-hit.
    ob.freeDisk += r.bytes;
  }
  if (ranges.length) ob.opts.onStorage?.({ type: "evicted", ranges });
}

function setFull(ob: OutboxParts, full: boolean) {
  if (full === ob.full) return;
  ob.full = full;
  ob.opts.onStorage?.({
    type: "full",
    active: full,
    pendingBytes: ob.totalBytes,
    freeDisk: ob.freeDisk,
  });
}

import type { AlarmInput } from "../drivers/types.ts";
import type { OutboxRecovery, StorageEvent } from "../sync/outbox/types.ts";

/** What the agent logs and raises for an outbox storage event (null: log only). */
export interface StorageNotice {
  level: "info" | "warn" | "error";
  log: Record<string, unknown>;
  message: string;
  alarm?: AlarmInput;
}

/**
 * The alarm for an outbox that started from a quarantined file. An older layout moved aside is an
 * upgrade, not damage: said so, without crying wolf. A corrupt or empty file is critical: the lender
 * sees it (the alarm is evidence), and an empty one says every stream restarts from seq 1.
 */
export function recoveryNotice(rec: OutboxRecovery): StorageNotice {
  const detail = {
    quarantined: rec.quarantined,
    why: rec.why,
    heads: rec.heads,
    records: rec.records,
    errors: rec.errors.slice(0, 5),
    // The declared restart (docs/protocol.md): streams not salvaged restart at seq 1 in this generation.
    ...(rec.generation !== undefined
      ? { generation: rec.generation, salvagedHeads: (rec.salvagedHeads ?? []).slice(0, 50) }
      : {}),
  };
  if (rec.why === "old-layout")
    return {
      level: "info",
      log: detail,
      message: "outbox of an older layout carried over into a fresh file",
      alarm: {
        code: "outbox.migrated",
        severity: "info",
        subject: "outbox",
        active: true,
        message: `outbox moved aside as ${rec.quarantined}; ${rec.records} pending records carried over`,
        detail,
      },
    };
  const lost =
    rec.heads === 0
      ? `; no stream head could be read: streams restart at seq 1 as generation ${rec.generation ?? 1} (a declared restart)`
      : "";
  return {
    level: "error",
    log: detail,
    message: `the outbox was ${rec.why === "empty" ? "empty (zero-length)" : "corrupt"}: quarantined, salvaged, continuing in a fresh file`,
    alarm: {
      code: "outbox.corrupt",
      severity: "critical",
      subject: "outbox",
      active: true,
      message: `outbox quarantined as ${rec.quarantined} (${rec.why}); ${rec.records} pending records carried over${lost}`,
      detail,
    },
  };
}

export function storageNotice(e: StorageEvent): StorageNotice {
  if (e.type === "evicted")
    return {
      level: "warn",
      log: { ranges: e.ranges },
      message: "outbox over quota: evicted the oldest evictable records",
    };
  if (e.type === "damaged")
    // Stored records no longer match their chain (altered or damaged on disk): that stream is held,
    // nothing derived from it is signed or sent; the rows stay in the outbox for inspection.
    return {
      level: "error",
      log: { stream: e.stream, why: e.message },
      message: "outbox stream held: records fail their chain check",
      alarm: {
        code: "outbox.damaged",
        severity: "critical",
        subject: e.stream,
        active: true,
        message: `stream ${e.stream} held, not sent: ${e.message}`,
      },
    };
  return {
    level: e.active ? "warn" : "info",
    log: { pendingBytes: e.pendingBytes, freeDisk: e.freeDisk },
    message: e.active ? "outbox full" : "outbox has room again",
    alarm: {
      code: "outbox.full",
      severity: "critical",
      subject: "outbox",
      active: e.active,
      message: e.active
        ? "outbox full of never-evict data: telemetry and media refused, evidence kept down to the disk floor"
        : "outbox has room again",
      detail: { pendingBytes: e.pendingBytes, freeDisk: e.freeDisk },
    },
  };
}

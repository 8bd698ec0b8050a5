import { join } from "node:path";
import Database from "better-sqlite3";
import { counterFrom, driverCounters, gaugeFrom, newRegistry, type Registry } from "../../core/metrics.ts";
import type { Agent } from "../agent.ts";

/**
 * The agent's Prometheus registry. Figures come from what the agent already keeps (counters, link
 * stats, outbox status) at scrape time; the backlog age reads the outbox file through a second,
 * read-only connection (WAL lets it read while the agent writes).
 */
export function agentMetrics(agent: Agent): { registry: Registry; refresh(): void; close(): void } {
  const reg = newRegistry({ device: agent.config.device });
  const streams = () => agent.outbox.status();
  let ro: Database.Database | undefined;
  const oldestPending = (): number | null => {
    try {
      ro ??= new Database(join(agent.config.dataDir, "outbox.db"), { readonly: true, fileMustExist: true });
      const r = ro.prepare("SELECT min(t_wall) AS t FROM records").get() as { t: number | null };
      return r.t;
    } catch {
      return null;
    }
  };

  counterFrom(reg, "records_appended_total", "Records appended to the outbox since start", [], () => [
    { value: agent.counters.appended },
  ]);
  counterFrom(
    reg,
    "records_committed_total",
    "Records the cloud acknowledged as committed since start",
    [],
    () => [{ value: agent.link.stats.recordsAcked }],
  );
  counterFrom(reg, "readings_dropped_total", "Invalid readings dropped before the outbox", [], () => [
    { value: agent.counters.badReadings },
  ]);
  counterFrom(reg, "alarms_total", "Alarm raises and clears", [], () => [{ value: agent.counters.alarms }]);
  gaugeFrom(reg, "outbox_records", "Records waiting in the outbox", ["stream"], () =>
    streams().map((s) => ({ labels: { stream: s.stream }, value: s.pending })),
  );
  gaugeFrom(reg, "outbox_bytes", "Bytes waiting in the outbox", ["stream"], () =>
    streams().map((s) => ({ labels: { stream: s.stream }, value: s.pendingBytes })),
  );
  counterFrom(reg, "outbox_evicted_total", "Records evicted from a full outbox", ["stream"], () =>
    streams().map((s) => ({ labels: { stream: s.stream }, value: s.evicted })),
  );
  gaugeFrom(
    reg,
    "backlog_age_seconds",
    "Age of the oldest record not yet committed (0 when empty)",
    [],
    () => {
      const t = oldestPending();
      return [{ value: t === null ? 0 : Math.max(0, (agent.clock.now().wall - t) / 1000) }];
    },
  );
  gaugeFrom(reg, "batches_in_flight", "Batches published and not yet acknowledged", [], () => [
    { value: agent.link.stats.inFlight },
  ]);
  gaugeFrom(reg, "link_connected", "1 when connected to the broker", [], () => [
    { value: agent.link.stats.connected ? 1 : 0 },
  ]);
  counterFrom(reg, "link_reconnects_total", "MQTT reconnect attempts", [], () => [
    { value: agent.link.stats.reconnects },
  ]);
  counterFrom(reg, "batches_sent_total", "Batches published (first sends and resends)", ["kind"], () => [
    { labels: { kind: "first" }, value: agent.link.stats.batchesSent },
    { labels: { kind: "resend" }, value: agent.link.stats.batchesResent },
  ]);
  counterFrom(reg, "batches_acked_total", "Batches acknowledged by the cloud", [], () => [
    { value: agent.link.stats.batchesAcked },
  ]);
  counterFrom(reg, "bytes_sent_total", "Payload bytes published", [], () => [
    { value: agent.link.stats.bytesSent },
  ]);
  counterFrom(reg, "forged_messages_total", "Acks or commands whose signature failed", ["kind"], () => [
    { labels: { kind: "ack" }, value: agent.link.stats.forgedAcks },
    { labels: { kind: "command" }, value: agent.link.stats.forgedCommands },
  ]);
  // modbus_errors_total{source,unit,kind}, camera_frames_total, inference_ms_total… as drivers count them.
  const refresh = driverCounters(reg, () => agent.counters.driverEvents);
  return {
    registry: reg,
    refresh,
    close: () => ro?.close(),
  };
}

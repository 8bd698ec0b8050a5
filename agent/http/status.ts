import type { Agent } from "../agent.ts";

export interface Roi {
  left: number;
  top: number;
  width: number;
  height: number;
  /** The source that uses this region (a faces pipeline). */
  source: string;
}

/** Regions of interest per camera, read from the sources' config (faces pipelines name a camera and its ROIs). */
export function roisByCamera(agent: Agent): Map<string, Roi[]> {
  const out = new Map<string, Roi[]>();
  for (const [cam, boxes] of Object.entries(agent.config.http.rois))
    out.set(
      cam,
      boxes.map((b) => ({ ...b, source: "config" })),
    );
  for (const sc of agent.config.sources as Array<Record<string, unknown>>) {
    const cam = sc.camera;
    const rois = sc.rois;
    if (typeof cam !== "string" || !Array.isArray(rois)) continue;
    const list = out.get(cam) ?? [];
    for (const r of rois as Array<Omit<Roi, "source">>) list.push({ ...r, source: String(sc.name) });
    out.set(cam, list);
  }
  return out;
}

const started = Date.now();

/** What the gateway page shows, as JSON (also `GET /api/status` for scripts). */
export function gatewayStatus(agent: Agent) {
  const streams = agent.outbox.status();
  const pending = streams.reduce((n, s) => n + s.pending, 0);
  const stats = agent.link.stats;
  const rois = roisByCamera(agent);
  const sourceStatus = agent.sourceStatus();
  const bySource = new Map<string, Array<{ stream: string; kind: string; body: unknown; t: number }>>();
  for (const [stream, v] of agent.latest) {
    const list = bySource.get(v.source) ?? [];
    list.push({ stream, kind: v.kind, body: v.body, t: v.t });
    bySource.set(v.source, list);
  }
  return {
    device: agent.config.device,
    publicKey: agent.key.publicKeyB64,
    now: agent.clock.now(),
    uptimeS: Math.round((Date.now() - started) / 1000),
    sync: {
      state: !stats.connected ? "offline" : pending === 0 ? "in sync" : "sending",
      broker: agent.config.cloud.mqtt.url,
      pendingRecords: pending,
      pendingBytes: streams.reduce((n, s) => n + s.pendingBytes, 0),
      ...stats,
    },
    streams,
    sources: agent.config.sources.map((s) => ({
      name: s.name,
      driver: s.driver,
      // what the source reports about itself, if anything (faces: model, operating point)
      status: sourceStatus.get(s.name) ?? null,
      values: (bySource.get(s.name) ?? []).sort((a, b) => a.stream.localeCompare(b.stream)),
    })),
    cameras: agent.cameras.list().map((c) => {
      const f = c.latest();
      return {
        name: c.camera,
        frame: f ? { width: f.width, height: f.height, t: f.t.wall, sha256: f.sha256 } : null,
        rois: rois.get(c.camera) ?? [],
      };
    }),
    alarms: agent.recentAlarms.slice(0, 20),
    counters: agent.counters,
  };
}

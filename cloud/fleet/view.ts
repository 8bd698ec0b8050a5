import type { CloudContext } from "../context.ts";

interface EventBody {
  input?: string;
  state?: unknown;
  detail?: Record<string, unknown>;
}

/** The newest records of one of a device's streams, parsed, newest first. */
async function newest(ctx: CloudContext, device: string, stream: string, limit: number) {
  const rows = await ctx.db.kysely
    .selectFrom("records")
    .select(["seq", "t_wall", "t_corrected", "body", "received_at"])
    .where("device", "=", device)
    .where("stream", "=", stream)
    .orderBy("seq", "desc")
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    seq: Number(r.seq),
    at: Number(r.t_corrected ?? r.t_wall),
    receivedAt: Number(r.received_at),
    body: JSON.parse(r.body) as EventBody,
  }));
}

/**
 * What the device page shows of a gateway's fleet operations: each config sent and what became of
 * it (sent → accepted → applied / rolled back, or rejected with the gateway's own list of
 * problems), the config it runs now, and its latest status report with log lines. Outcomes come
 * from the gateway's signed records (`config`, `status` streams), not from what the cloud hoped.
 */
export async function fleetView(ctx: CloudContext, device: string) {
  const k = ctx.db.kysely;
  const requests = await k
    .selectFrom("fleet_requests")
    .leftJoin("device_commands", "device_commands.id", "fleet_requests.id")
    .select([
      "fleet_requests.id",
      "fleet_requests.name",
      "fleet_requests.requested_by",
      "fleet_requests.requested_at",
      "fleet_requests.config_sha256",
      "fleet_requests.config_redacted",
      "device_commands.done_at",
      "device_commands.outcome",
      "device_commands.expires_at",
    ])
    .where("fleet_requests.device", "=", device)
    .orderBy("fleet_requests.requested_at", "desc")
    .limit(40)
    .execute();
  const configRecords = await newest(ctx, device, "config", 200);
  const byId = new Map<string, (typeof configRecords)[number]>();
  // Newest first: the first record naming a command is its latest state.
  for (const r of configRecords) {
    const cid = r.body.detail?.id;
    if (typeof cid === "string" && !byId.has(cid)) byId.set(cid, r);
  }
  const running = configRecords.find((r) => r.body.state === "applied");
  const reports = await newest(ctx, device, "status", 10);
  const answered = new Set(reports.map((r) => r.body.detail?.id));
  const now = ctx.now();
  const stateOf = (r: (typeof requests)[number]) => {
    const rec = byId.get(r.id);
    if (rec) return String(rec.body.state);
    if (r.done_at !== null) return String(r.outcome ?? "done");
    return Number(r.expires_at ?? 0) < now ? "expired" : "sent";
  };
  const latest = reports[0];
  return {
    device,
    config: {
      running: running
        ? {
            sha256: running.body.detail?.sha256 ?? null,
            command: running.body.detail?.id ?? null,
            since: running.at,
          }
        : null,
      requests: requests
        .filter((r) => r.name === "config.apply")
        .map((r) => {
          const rec = byId.get(r.id);
          return {
            id: r.id,
            requestedBy: r.requested_by,
            requestedAt: Number(r.requested_at),
            sha256: r.config_sha256,
            config: r.config_redacted,
            state: stateOf(r),
            at: rec?.at ?? (r.done_at === null ? null : Number(r.done_at)),
            ...(rec?.body.detail?.errors ? { errors: rec.body.detail.errors } : {}),
            ...(rec?.body.detail?.reason ? { reason: rec.body.detail.reason } : {}),
          };
        }),
    },
    status: {
      requests: requests
        .filter((r) => r.name === "status.report")
        .map((r) => ({
          id: r.id,
          requestedBy: r.requested_by,
          requestedAt: Number(r.requested_at),
          state: answered.has(r.id) ? "answered" : stateOf(r),
        })),
      latest: latest
        ? {
            id: latest.body.detail?.id ?? null,
            at: latest.at,
            receivedAt: latest.receivedAt,
            seq: latest.seq,
            ...(latest.body.detail ?? {}),
          }
        : null,
    },
  };
}

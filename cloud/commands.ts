import { randomBytes } from "node:crypto";
import type { KeyPair } from "../core/keys.ts";
import type { Logger } from "../core/log.ts";
import { type Command, signMessage } from "../sync/messages.ts";
import { cmdTopic } from "../sync/topics.ts";
import type { Db } from "./db/connect.ts";
import type { VerifiedSegment } from "./ingest/verify.ts";

type Publish = (topic: string, payload: string) => Promise<void>;

/**
 * Commands to devices that are not lost: each is stored before it is published, re-published
 * (byte-identical, so the agent's replay guard keeps it to one run) whenever the device comes back
 * online, and closed when the device's own signed evidence shows it ran (`commands` stream event
 * naming the id). A broker holds nothing for a device that has never connected, and an in-memory
 * broker forgets on restart: this queue covers both.
 */
export class CommandQueue {
  constructor(
    private readonly db: Db,
    private readonly key: KeyPair,
    private readonly publish: Publish,
    private readonly now: () => number,
    private readonly log: Logger,
    private readonly ttlMs = 24 * 3_600_000,
  ) {}

  async send(device: string, name: string, args: Record<string, unknown>): Promise<string> {
    const at = this.now();
    const cmd = signMessage<Command>(this.key.privateKey, {
      v: 1,
      type: "cmd",
      device,
      id: randomBytes(12).toString("hex"),
      name,
      args,
      at,
      expires: at + this.ttlMs,
    });
    const message = JSON.stringify(cmd);
    await this.db.kysely
      .insertInto("device_commands")
      .values({
        id: cmd.id,
        device,
        name,
        message,
        created_at: at,
        expires_at: cmd.expires,
        sends: 1,
        last_sent_at: at,
        done_at: null,
        outcome: null,
      })
      .execute();
    await this.publish(cmdTopic(device), message);
    return cmd.id;
  }

  /** The device announced itself online: publish again what it has not confirmed and is still valid. */
  async online(device: string): Promise<number> {
    const now = this.now();
    const open = await this.db.kysely
      .selectFrom("device_commands")
      .select(["id", "message", "sends"])
      .where("device", "=", device)
      .where("done_at", "is", null)
      .where("expires_at", ">", now)
      .orderBy("created_at")
      .execute();
    for (const c of open) {
      await this.publish(cmdTopic(device), c.message);
      await this.db.kysely
        .updateTable("device_commands")
        .set({ sends: Number(c.sends) + 1, last_sent_at: now })
        .where("id", "=", c.id)
        .execute();
    }
    if (open.length) this.log.info({ device, commands: open.length }, "re-sent unconfirmed commands");
    return open.length;
  }

  /** Closes commands the device's committed evidence reports as run (applied or ignored). */
  async confirmFrom(device: string, segments: VerifiedSegment[]): Promise<void> {
    for (const s of segments) {
      if (s.type !== "records" || s.stream !== "commands") continue;
      for (const r of s.records) {
        const body = JSON.parse(r.body) as { state?: unknown; detail?: { id?: unknown } };
        const id = body.detail?.id;
        if (typeof id !== "string") continue;
        await this.db.kysely
          .updateTable("device_commands")
          .set({ done_at: r.t.wall, outcome: String(body.state ?? "") })
          .where("id", "=", id)
          .where("device", "=", device)
          .where("done_at", "is", null)
          .execute();
      }
    }
  }
}

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** What is known of a config the cloud sent: its hash, the command that sent it, when it was applied. */
export interface RemoteMeta {
  sha256: string;
  /** The command id (`config.apply`) that brought it. */
  command: string;
  /** SHA-256 of the local config file (`--config`) when it was applied: a later local edit wins. */
  baseSha256: string;
  appliedAt?: number;
  /**
   * Set on a pending config that a lite-mode agent could not run in-process (node flags are chosen
   * at start): the process exits for the unit to restart it, the next start's node flags are this
   * config's, and that start runs it on probation for `deadlineMs` (startup.ts, `resume`).
   */
  restart?: { deadlineMs: number };
}

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * Configs sent by the cloud, kept in `<dataDir>/config/` (the service's state directory is writable;
 * /etc/barnlink is read-only under the unit's ProtectSystem): `active.yaml` is what runs,
 * `previous.yaml` what ran before it, `pending.yaml` a config on probation (present only while the
 * agent checks it comes up healthy, so a crash during probation leaves the active one in charge).
 * Each `.yaml` has a `.json` beside it with its RemoteMeta. Files are written then renamed: a power
 * cut leaves the old file or the new one, never half of one.
 */
export class ConfigStore {
  readonly dir: string;
  constructor(dataDir: string) {
    this.dir = join(dataDir, "config");
  }

  private path(name: string, ext: "yaml" | "json") {
    return join(this.dir, `${name}.${ext}`);
  }

  private write(name: string, text: string, meta: RemoteMeta) {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const [ext, body] of [
      ["yaml", text],
      ["json", JSON.stringify(meta)],
    ] as const) {
      const tmp = `${this.path(name, ext)}.tmp`;
      writeFileSync(tmp, body, { mode: 0o600 });
      renameSync(tmp, this.path(name, ext));
    }
  }

  read(name: "active" | "previous" | "pending"): { text: string; meta: RemoteMeta } | undefined {
    try {
      return {
        text: readFileSync(this.path(name, "yaml"), "utf8"),
        meta: JSON.parse(readFileSync(this.path(name, "json"), "utf8")) as RemoteMeta,
      };
    } catch {
      return undefined;
    }
  }

  writePending(text: string, meta: RemoteMeta): void {
    this.write("pending", text, meta);
  }

  /** The pending config proved healthy: it becomes active, the active one previous. */
  promote(at: number): RemoteMeta | undefined {
    const p = this.read("pending");
    if (!p) return undefined;
    const a = this.read("active");
    if (a) this.write("previous", a.text, a.meta);
    const meta = { ...p.meta, appliedAt: at };
    this.write("active", p.text, meta);
    this.drop("pending");
    return meta;
  }

  drop(name: "active" | "pending"): void {
    for (const ext of ["yaml", "json"] as const) rmSync(this.path(name, ext), { force: true });
  }

  hasPending(): boolean {
    return existsSync(this.path("pending", "yaml"));
  }
}

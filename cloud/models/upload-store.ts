import { existsSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { ERR_NOT_FOUND } from "../../core/errors.ts";
import type { Db } from "../db/connect.ts";
import { ERR_ADAPT_UPLOAD_IN_USE } from "./errors.ts";
import { type HerdUpload, META, UPLOADS } from "./herd-upload.ts";

/** `adapt.uploadRetention` when the options give none (the cloud config's default). */
export const UPLOAD_RETENTION_MS = 30 * 86_400_000;

/** An upload as GET /api/v1/models/herd-uploads lists it: the upload, the job using it, when it expires. */
export type UploadView = HerdUpload & { usedBy: string | null; expiresAt: number | null };

/** `adapt.herdDataDir/uploads`, or undefined when no herd data folder is configured or none was uploaded. */
function uploadsDir(root: string | undefined): string | undefined {
  if (!root || !existsSync(root)) return undefined;
  const dir = join(realpathSync(resolve(root)), UPLOADS);
  return existsSync(dir) ? dir : undefined;
}

function readMeta(dir: string): HerdUpload | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, META), "utf8")) as HerdUpload;
  } catch {
    return undefined; // not an upload (a folder put there by hand, or one half removed)
  }
}

/** Upload id → the queued or running adapt job that trains on it (what may not be removed). */
export async function uploadsInUse(db: Db): Promise<Map<string, string>> {
  const rows = await db.kysely
    .selectFrom("model_adapt_jobs")
    .select(["id", "input"])
    .where("status", "in", ["queued", "running"])
    .execute();
  const used = new Map<string, string>();
  for (const r of rows) {
    const f = (JSON.parse(r.input) as { frames?: { upload?: unknown } }).frames;
    if (typeof f?.upload === "string") used.set(f.upload, r.id);
  }
  return used;
}

/** The uploads (of one herd, or all), newest first. `retentionMs` 0: they never expire. */
export async function listUploads(
  db: Db,
  root: string | undefined,
  o: { herd?: string; retentionMs: number },
): Promise<UploadView[]> {
  const dir = uploadsDir(root);
  if (!dir) return [];
  const used = await uploadsInUse(db);
  const all: UploadView[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith(".")) continue;
    const up = readMeta(join(dir, e.name));
    if (!up || up.id !== e.name || (o.herd && up.herd !== o.herd)) continue;
    const expiresAt = o.retentionMs > 0 ? up.uploadedAt + o.retentionMs : null;
    all.push({ ...up, usedBy: used.get(up.id) ?? null, expiresAt });
  }
  return all.sort((a, b) => b.uploadedAt - a.uploadedAt || a.id.localeCompare(b.id));
}

/**
 * Removes an upload unless a queued or running job uses it. The folder is first renamed to
 * `.del-<id>` (a job created from then on no longer finds it: the route checks again after
 * creating one), the jobs are checked again, and only then is it removed; if a job appeared
 * in between, the folder is put back and the delete refused.
 */
async function remove(db: Db, dir: string, up: HerdUpload): Promise<"removed" | "gone" | string> {
  const before = (await uploadsInUse(db)).get(up.id);
  if (before) return before;
  const tomb = join(dir, `.del-${up.id}`);
  try {
    renameSync(join(dir, up.id), tomb);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "gone"; // removed meanwhile (a delete, a sweep)
    throw e;
  }
  const after = (await uploadsInUse(db)).get(up.id);
  if (after) {
    renameSync(tomb, join(dir, up.id));
    return after;
  }
  rmSync(tomb, { recursive: true, force: true });
  return "removed";
}

/** DELETE /api/v1/models/herd-uploads/:id: 404 if there is none, 409 BL_ADAPT_UPLOAD_IN_USE while a job uses it. */
export async function deleteUpload(db: Db, root: string | undefined, id: string): Promise<HerdUpload> {
  const dir = uploadsDir(root);
  const up = dir ? readMeta(join(dir, id)) : undefined;
  if (!dir || !up || up.id !== id) throw ERR_NOT_FOUND(`no upload ${id}`);
  const r = await remove(db, dir, up);
  if (r === "gone") throw ERR_NOT_FOUND(`no upload ${id}`);
  if (r !== "removed")
    throw ERR_ADAPT_UPLOAD_IN_USE(`upload ${id} is used by adapt job ${r}; cancel it or wait for it to end`, {
      job: r,
    });
  return up;
}

/**
 * Retention (`adapt.uploadRetention`): uploads older than `retentionMs` that no queued or running
 * job uses are removed (one in use is removed at a later sweep, once its job has ended), and so
 * are `.del-*` folders a crash left half removed. Returns the ids removed.
 */
export async function expireUploads(
  db: Db,
  root: string | undefined,
  retentionMs: number,
  now: number,
): Promise<string[]> {
  const dir = uploadsDir(root);
  if (!dir || retentionMs <= 0) return [];
  for (const e of readdirSync(dir))
    if (e.startsWith(".del-") && statSync(join(dir, e)).mtimeMs < now - 3_600_000)
      rmSync(join(dir, e), { recursive: true, force: true });
  const removed: string[] = [];
  for (const up of await listUploads(db, root, { retentionMs }))
    if (
      up.expiresAt !== null &&
      up.expiresAt <= now &&
      !up.usedBy &&
      (await remove(db, dir, up)) === "removed"
    )
      removed.push(up.id);
  return removed;
}

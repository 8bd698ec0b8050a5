import { createHash, type KeyObject } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import sharp from "sharp";
import { canonicalBytes, strictBase64 } from "../../core/canonical.ts";
import { ERR_NOT_FOUND } from "../../core/errors.ts";
import { verifyBytes } from "../../core/keys.ts";
import { modelPackage } from "../../sync/model-package.ts";
import type { Db } from "../db/connect.ts";
import { ERR_ADAPT_FAILED, ERR_ADAPT_NO_FRAMES, ERR_ADAPT_PATH } from "./errors.ts";

/** Where a job's labelled frames come from: stored records of the herd's gateways, or a folder. */
export type FramesInput =
  | { folder: string }
  /** An archive uploaded through POST /api/v1/models/herd-uploads (herd-upload.ts). */
  | { upload: string }
  | {
      records: {
        devices: string[];
        cameras?: string[];
        from?: number;
        to?: number;
        /** Frames per pig at most, evenly spread over time (bounds the training time). */
        maxPerPig: number;
      };
    };

const IMAGE = /\.(jpe?g|png|webp)$/i;

/** A folder the API may name: relative to `adapt.herdDataDir`, never outside it (symlinks resolved). */
export function resolveHerdFolder(root: string | undefined, path: string): string {
  if (!root) throw ERR_ADAPT_PATH("no adapt.herdDataDir is configured: jobs can read stored records only");
  if (isAbsolute(path))
    throw ERR_ADAPT_PATH(`frames.folder must be relative to adapt.herdDataDir, got ${path}`);
  const base = realpathSync(resolve(root));
  const outside = (p: string) => {
    const rel = relative(base, p);
    return rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel);
  };
  const abs = resolve(base, path);
  if (outside(abs)) throw ERR_ADAPT_PATH(`frames.folder ${path} leads outside adapt.herdDataDir`);
  if (!existsSync(abs)) throw ERR_NOT_FOUND(`no folder ${path} under adapt.herdDataDir`);
  const real = realpathSync(abs); // a symbolic link must not lead out either
  if (outside(real)) throw ERR_ADAPT_PATH(`frames.folder ${path} leads outside adapt.herdDataDir`);
  if (!statSync(real).isDirectory()) throw ERR_ADAPT_PATH(`frames.folder ${path} is not a folder`);
  return real;
}

/** Pigs (sub-folders) with at least 2 images, and their images: the request is refused below 2 pigs. */
export function countFolder(dir: string): { pigs: number; frames: number } {
  let pigs = 0;
  let frames = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith(".")) continue;
    const n = readdirSync(join(dir, e.name)).filter((f) => IMAGE.test(f)).length;
    if (n >= 2) pigs++;
    frames += n;
  }
  return { pigs, frames };
}

interface Labelled {
  device: string;
  pig: string;
  sha: string;
  box: [number, number, number, number] | null;
  t: number;
}

/**
 * Sightings named by ground truth (`labelledBy: "tag"`, an ear-tag QR in the frame) of the given
 * gateways, by pig, at most `maxPerPig` each (evenly spread over time). Matcher-named sightings are
 * never used: training on the matcher's own answers would teach it its mistakes.
 */
export async function labelledSightings(
  db: Db,
  r: Extract<FramesInput, { records: unknown }>["records"],
): Promise<Map<string, Labelled[]>> {
  const byPig = new Map<string, Labelled[]>();
  let after = { t: -1, device: "", stream: "", seq: 0 };
  for (;;) {
    let q = db.kysely
      .selectFrom("records")
      .select(["device", "stream", "seq", "t_wall", "body"])
      .where("kind", "=", "sighting")
      .where("device", "in", r.devices)
      // bodies are canonical JSON (sorted keys, no spaces): a cheap pre-filter, checked after parsing
      .where("body", "like", '%"labelledBy":"tag"%')
      // keyset pagination: a row-value comparison (SQLite ≥ 3.15 and PostgreSQL)
      .where((eb) =>
        eb(
          eb.refTuple("t_wall", "device", "stream", "seq"),
          ">",
          eb.tuple(after.t, after.device, after.stream, after.seq),
        ),
      );
    if (r.from !== undefined) q = q.where("t_wall", ">=", r.from);
    if (r.to !== undefined) q = q.where("t_wall", "<", r.to);
    const rows = await q.orderBy(["t_wall", "device", "stream", "seq"]).limit(2000).execute();
    for (const row of rows) {
      const b = JSON.parse(row.body) as {
        camera?: string;
        pig?: string | null;
        frameSha256?: string;
        box?: number[];
        labelledBy?: string;
      };
      if (b.labelledBy !== "tag" || !b.pig || !b.frameSha256) continue;
      if (r.cameras && !r.cameras.includes(b.camera ?? "")) continue;
      const list = byPig.get(b.pig) ?? [];
      const box = b.box?.length === 4 ? (b.box.map(Math.round) as Labelled["box"]) : null;
      list.push({ device: row.device, pig: b.pig, sha: b.frameSha256, box, t: Number(row.t_wall) });
      byPig.set(b.pig, list);
    }
    if (rows.length < 2000) break;
    const last = rows[rows.length - 1]!;
    after = { t: Number(last.t_wall), device: last.device, stream: last.stream, seq: Number(last.seq) };
  }
  for (const [pig, list] of byPig) {
    if (list.length > r.maxPerPig) {
      const step = list.length / r.maxPerPig;
      byPig.set(
        pig,
        Array.from({ length: r.maxPerPig }, (_, i) => list[Math.floor(i * step)]!),
      );
    }
  }
  return byPig;
}

/** Refuses (BL_ADAPT_NO_FRAMES) fewer than 2 pigs with 2 labelled frames each. */
export function requireFrames(pigs: number, frames: number, where: string): void {
  if (pigs < 2)
    throw ERR_ADAPT_NO_FRAMES(
      `${where}: ${pigs} pig(s) with 2 or more labelled frames (${frames} frames in all); at least 2 pigs are needed`,
    );
}

/** A pig id as a folder name: safe characters kept, anything else replaced (and made unique by a hash). */
export function pigFolder(pig: string): string {
  if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(pig)) return pig;
  const h = createHash("sha256").update(pig).digest("hex").slice(0, 8);
  return `${pig
    .replace(/[^A-Za-z0-9._-]/g, "_")
    .replace(/^[._-]+/, "")
    .slice(0, 48)}-${h}`;
}

/**
 * Writes the labelled face crops as DIR/<pig>/<time>-<n>.jpg (file-name order is time order, as
 * `model adapt` reads it): each labelled sighting's box cut from its frame's stored `media` record
 * (joined by the frame's SHA-256). Media records are read page by page, never all at once.
 */
export async function extractFrames(
  db: Db,
  byPig: Map<string, Labelled[]>,
  dir: string,
): Promise<{ pigs: number; frames: number; missing: number }> {
  const want = new Map<string, Labelled[]>();
  let tMin = Number.POSITIVE_INFINITY;
  let tMax = Number.NEGATIVE_INFINITY;
  for (const list of byPig.values())
    for (const l of list) {
      const k = `${l.device}/${l.sha}`;
      want.set(k, [...(want.get(k) ?? []), l]);
      tMin = Math.min(tMin, l.t);
      tMax = Math.max(tMax, l.t);
    }
  const devices = [...new Set([...want.values()].flat().map((l) => l.device))];
  const written = new Map<string, number>();
  let frames = 0;
  let after = { device: "", stream: "", seq: 0 };
  while (want.size > 0 && devices.length > 0) {
    const rows = await db.kysely
      .selectFrom("records")
      .select(["device", "stream", "seq", "body"])
      .where("kind", "=", "media")
      .where("device", "in", devices)
      // a frame is kept as media when it is taken; a minute's slack for clock steps between the two
      .where("t_wall", ">=", tMin - 60_000)
      .where("t_wall", "<=", tMax + 60_000)
      .where((eb) =>
        eb(eb.refTuple("device", "stream", "seq"), ">", eb.tuple(after.device, after.stream, after.seq)),
      )
      .orderBy(["device", "stream", "seq"])
      .limit(200)
      .execute();
    for (const row of rows) {
      const b = JSON.parse(row.body) as { sha256?: string; dataB64?: string };
      const key = `${row.device}/${b.sha256}`;
      const labels = want.get(key);
      if (!labels || !b.dataB64) continue;
      want.delete(key);
      const jpeg = Buffer.from(b.dataB64, "base64");
      const meta = await sharp(jpeg)
        .metadata()
        .catch(() => undefined);
      if (!meta?.width || !meta.height) continue;
      for (const l of labels) {
        const [left, top, width, height] = l.box ?? [0, 0, meta.width, meta.height];
        const x = Math.max(0, left);
        const y = Math.max(0, top);
        const w = Math.min(meta.width - x, width - (x - left));
        const h = Math.min(meta.height - y, height - (y - top));
        if (w < 8 || h < 8) continue;
        const crop = await sharp(jpeg)
          .extract({ left: x, top: y, width: w, height: h })
          .jpeg({ quality: 92 })
          .toBuffer()
          .catch(() => undefined);
        if (!crop) continue;
        const folder = join(dir, pigFolder(l.pig));
        mkdirSync(folder, { recursive: true });
        const n = (written.get(l.pig) ?? 0) + 1;
        written.set(l.pig, n);
        writeFileSync(join(folder, `${String(l.t).padStart(15, "0")}-${n}.jpg`), crop);
        frames++;
      }
    }
    if (rows.length < 200) break;
    const last = rows[rows.length - 1]!;
    after = { device: last.device, stream: last.stream, seq: Number(last.seq) };
  }
  const missing = [...want.values()].reduce((n, l) => n + l.length, 0);
  return { pigs: [...written.values()].filter((n) => n >= 2).length, frames, missing };
}

/**
 * A published model (`modelsDir/<version>.pkg`) unpacked into `dir` after checking the cloud's own
 * signature and every file's hash: a job never trains from or compares against a tampered file.
 */
export function unpackModel(modelsDir: string, version: string, publicKey: KeyObject, dir: string): string {
  const file = join(modelsDir, `${version}.pkg`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(version) || !existsSync(file))
    throw ERR_NOT_FOUND(`no published model ${version}`);
  const pkg = modelPackage.parse(JSON.parse(readFileSync(file, "utf8")));
  if (
    !verifyBytes(publicKey, canonicalBytes(pkg.manifest), strictBase64(pkg.signature, 64) ?? Buffer.alloc(0))
  )
    throw ERR_ADAPT_FAILED(`published model ${version} does not verify against the cloud key`);
  mkdirSync(dir, { recursive: true });
  for (const f of pkg.manifest.files) {
    const b = Buffer.from(pkg.files[f.path] ?? "", "base64");
    if (createHash("sha256").update(b).digest("hex") !== f.sha256)
      throw ERR_ADAPT_FAILED(`published model ${version}: ${f.path} differs from its manifest`);
    writeFileSync(join(dir, f.path), b);
  }
  return dir;
}

/** The model version the herd's gateways last reported installed (`model` stream events), if any. */
export async function reportedModel(db: Db, devices: string[]): Promise<string | undefined> {
  if (devices.length === 0) return undefined;
  const rows = await db.kysely
    .selectFrom("records")
    .select(["body"])
    .where("kind", "=", "event")
    .where("stream", "=", "model")
    .where("device", "in", devices)
    .orderBy("t_wall", "desc")
    .limit(50)
    .execute();
  for (const r of rows) {
    const b = JSON.parse(r.body) as { input?: string; state?: unknown; detail?: { installed?: boolean } };
    if (b.input === "model.version" && b.detail?.installed && typeof b.state === "string") return b.state;
  }
  return undefined;
}

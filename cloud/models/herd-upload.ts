import { randomBytes } from "node:crypto";
import {
  closeSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { pipeline as pipe, Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { BarnlinkError, ERR_CONFLICT, ERR_NOT_FOUND } from "../../core/errors.ts";
import { countFolder, requireFrames, resolveHerdFolder } from "./adapt-data.ts";
import { ERR_ADAPT_ARCHIVE, ERR_ADAPT_PATH, ERR_ADAPT_TOO_LARGE } from "./errors.ts";

/** The subset of tar-stream (2.x and 3.x alike) this file uses: a streaming tar parser. */
interface TarHeader {
  name: string;
  type: string | null;
  size?: number;
}
interface TarExtract extends Writable {
  on(e: "entry", f: (h: TarHeader, s: Readable, next: () => void) => void): this;
  on(e: string, f: (...a: never[]) => void): this;
  destroy(e?: Error): this;
}
const tarStream = createRequire(import.meta.url)("tar-stream") as { extract(): TarExtract };

/** Folder of uploads under `adapt.herdDataDir`; a job names one as `frames: {upload: id}`. */
export const UPLOADS = "uploads";
export const UPLOAD_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** A pig id as every other herd input takes it (core/zod-helpers.ts ident). */
const PIG = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const IMAGE = /\.(jpe?g|png|webp)$/i;
export const META = ".upload.json";

export interface HerdUpload {
  id: string;
  herd: string;
  /** The folder under adapt.herdDataDir (what `frames: {folder}` would name). */
  folder: string;
  /** Pigs with 2 or more frames, frames in all, bytes of the request body. */
  pigs: number;
  frames: number;
  bytes: number;
  uploadedBy: string;
  uploadedAt: number;
  /** Entries left out (not an image, a dot-file, outside the layout): their count and the first 50. */
  skipped: { count: number; files: Array<{ file: string; reason: string }> };
}

const isImage = (b: Buffer) =>
  (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) ||
  b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) ||
  (b.subarray(0, 4).toString("latin1") === "RIFF" && b.subarray(8, 12).toString("latin1") === "WEBP");

function head(file: string): Buffer {
  const b = Buffer.alloc(12);
  const fd = openSync(file, "r");
  try {
    readSync(fd, b, 0, 12, 0);
  } finally {
    closeSync(fd);
  }
  return b;
}

/** An entry's path as segments, or a refusal: absolute, `..`, backslashes and NULs never pass. */
function segments(name: string): string[] {
  if (name.includes("\0") || name.includes("\\"))
    throw ERR_ADAPT_PATH(`archive entry ${JSON.stringify(name)}: backslashes and NULs are refused`);
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name))
    throw ERR_ADAPT_PATH(`archive entry ${JSON.stringify(name)}: absolute paths are refused`);
  const s = name.split("/").filter((x) => x !== "" && x !== ".");
  if (s.includes("..")) throw ERR_ADAPT_PATH(`archive entry ${JSON.stringify(name)}: '..' is refused`);
  return s;
}

/** Counts request bytes, refusing past `max` (a body without or with a false Content-Length). */
const limitBytes = (max: number, what: string) =>
  async function* (src: AsyncIterable<Buffer>) {
    let n = 0;
    for await (const c of src) {
      n += c.length;
      if (n > max) throw ERR_ADAPT_TOO_LARGE(`${what} is larger than adapt.maxUploadBytes (${max} bytes)`);
      yield c;
    }
  };

/** Gunzips a gzip stream (magic 1f 8b), passes a plain tar through. */
async function* gunzipIfGzip(src: AsyncIterable<Buffer>) {
  const it = src[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const rest = (async function* () {
    yield first.value as Buffer;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value as Buffer;
  })();
  const b = first.value as Buffer;
  if (b[0] !== 0x1f || b[1] !== 0x8b) return yield* rest;
  // the callback pipeline returns the gunzip stream, destroyed with the first error of either side
  const out = pipe(Readable.from(rest), createGunzip(), () => {});
  for await (const c of out) yield c as Buffer;
}

/**
 * Requires the end-of-archive marker (two zero blocks) at the end of the tar: an archive cut
 * between two entries parses cleanly otherwise, and would be taken without its last pigs.
 */
async function* requireEnd(src: AsyncIterable<Buffer>) {
  let tail = Buffer.alloc(0);
  for await (const c of src) {
    tail = Buffer.concat([tail, c]).subarray(-1024);
    yield c;
  }
  if (tail.length < 1024 || tail.some((x) => x !== 0))
    throw ERR_ADAPT_ARCHIVE("the archive ends without its end-of-archive marker: truncated?");
}

/** Unfinished uploads of a crashed process (`.tmp-*` older than an hour) are removed. */
function sweep(dir: string, now: number) {
  for (const e of readdirSync(dir, { withFileTypes: true }))
    if (e.name.startsWith(".tmp-") && statSync(join(dir, e.name)).mtimeMs < now - 3_600_000)
      rmSync(join(dir, e.name), { recursive: true, force: true });
}

/**
 * Receives a herd's labelled frames as a tar (or tar.gz) of `<pigId>/<frame>.jpg` (or one top
 * folder above them), streamed to `adapt.herdDataDir/uploads/.tmp-<id>/` and renamed to
 * `uploads/<id>/` only when the whole archive was read and holds at least 2 pigs with 2 frames:
 * a refused, truncated or corrupt upload leaves nothing behind. Links, devices and paths leading
 * out are refused (BL_ADAPT_PATH); files that are not images are skipped and reported.
 */
export async function receiveHerdArchive(
  body: AsyncIterable<Buffer>,
  o: { root: string | undefined; herd: string; maxBytes: number; by: string; now: number },
): Promise<HerdUpload> {
  if (!o.root) throw ERR_ADAPT_PATH("no adapt.herdDataDir is configured: uploads are not accepted");
  const uploads = join(realpathSync(resolve(o.root)), UPLOADS);
  mkdirSync(uploads, { recursive: true });
  sweep(uploads, o.now);
  const stamp = new Date(o.now).toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  const id = `${o.herd}-${stamp}-${randomBytes(3).toString("hex")}`.slice(-100);
  const tmp = join(uploads, `.tmp-${id}`);
  mkdirSync(tmp);
  const skipped: HerdUpload["skipped"] = { count: 0, files: [] };
  const skip = (file: string, reason: string) => {
    skipped.count++;
    if (skipped.files.length < 50) skipped.files.push({ file, reason });
  };
  let bytes = 0;
  let extracted = 0;
  let depth: number | undefined;
  let top: string | undefined;
  const entry = async (h: TarHeader, s: Readable) => {
    const drain = () =>
      pipeline(s, async (src: AsyncIterable<unknown>) => {
        for await (const _ of src);
      });
    const skipped = (why: string) => {
      skip(h.name, why);
      return drain();
    };
    const parts = segments(h.name);
    if (h.type === "directory") return drain();
    if (h.type !== "file" && h.type !== "contiguous-file") {
      if (["symlink", "link", "character-device", "block-device", "fifo"].includes(h.type ?? ""))
        throw ERR_ADAPT_PATH(`archive entry ${h.name}: a ${h.type}; only plain files are accepted`);
      throw ERR_ADAPT_ARCHIVE(`archive entry ${h.name}: unsupported entry type ${h.type ?? "?"}`);
    }
    if (parts.some((p) => p.startsWith(".") || p === "__MACOSX")) return skipped("hidden");
    if (parts.length < 2 || parts.length > 3) return skipped("not <pigId>/<frame>");
    if (!IMAGE.test(parts.at(-1)!)) return skipped("not an image (.jpg, .png, .webp)");
    if (depth !== undefined && (depth !== parts.length || (depth === 3 && top !== parts[0])))
      throw ERR_ADAPT_ARCHIVE(
        `archive entry ${h.name}: frames must all be <pigId>/<frame> or all under one top folder`,
      );
    depth = parts.length;
    top = depth === 3 ? parts[0] : undefined;
    const [pig, frame] = parts.slice(-2) as [string, string];
    if (!PIG.test(pig))
      throw ERR_ADAPT_ARCHIVE(
        `archive entry ${h.name}: pig id ${JSON.stringify(pig)} must be letters, digits, '.', '_' or '-' (at most 64)`,
      );
    if (Buffer.byteLength(frame) > 200) return skipped("file name too long");
    extracted += h.size ?? 0;
    if (extracted > o.maxBytes)
      throw ERR_ADAPT_TOO_LARGE(
        `the archive unpacks to more than adapt.maxUploadBytes (${o.maxBytes} bytes)`,
      );
    mkdirSync(join(tmp, pig), { recursive: true });
    const file = join(tmp, pig, frame);
    try {
      await pipeline(s, createWriteStream(file, { flags: "wx", mode: 0o640 }));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST")
        throw ERR_ADAPT_ARCHIVE(`archive entry ${h.name}: the same frame twice`);
      throw e;
    }
    if (!isImage(head(file))) {
      unlinkSync(file);
      skip(h.name, "not a JPEG, PNG or WebP image");
    }
  };
  try {
    const ex = tarStream.extract();
    ex.on("entry", (h, s, next) => {
      entry(h, s).then(next, (e: Error) => ex.destroy(e));
    });
    const counted = async function* (src: AsyncIterable<Buffer>) {
      for await (const c of src) {
        bytes += c.length;
        yield c;
      }
    };
    const tar = requireEnd(gunzipIfGzip(counted(limitBytes(o.maxBytes, "the upload")(body))));
    await pipeline(Readable.from(tar), ex);
    const c = countFolder(tmp);
    requireFrames(c.pigs, c.frames, "the uploaded archive");
    const up: HerdUpload = {
      id,
      herd: o.herd,
      folder: `${UPLOADS}/${id}`,
      pigs: c.pigs,
      frames: c.frames,
      bytes,
      uploadedBy: o.by,
      uploadedAt: o.now,
      skipped,
    };
    writeFileSync(join(tmp, META), JSON.stringify(up));
    renameSync(tmp, join(uploads, id));
    return up;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (e instanceof BarnlinkError) throw e;
    const err = e as NodeJS.ErrnoException;
    // tar-stream's own errors (bad header, unexpected end) and zlib's (corrupt or cut gzip)
    if (/tar|header|end of data|unexpected end/i.test(err.message ?? "") || /^Z_/.test(err.code ?? ""))
      throw ERR_ADAPT_ARCHIVE(`the archive could not be read: ${err.message}`);
    throw e;
  }
}

/** The folder of an upload a job names, after checking it is one of the herd's (`.upload.json`). */
export function resolveUpload(root: string | undefined, id: string, herd: string): string {
  if (!UPLOAD_ID.test(id)) throw ERR_ADAPT_PATH(`frames.upload ${JSON.stringify(id)} is not an upload id`);
  const dir = resolveHerdFolder(root, `${UPLOADS}/${id}`);
  const meta = join(dir, META);
  if (!existsSync(meta)) throw ERR_NOT_FOUND(`no upload ${id}`);
  const up = JSON.parse(readFileSync(meta, "utf8")) as HerdUpload;
  if (up.herd !== herd) throw ERR_CONFLICT(`upload ${id} holds herd ${up.herd}'s frames, not ${herd}'s`);
  return dir;
}

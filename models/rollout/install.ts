import { createHash, type KeyObject, randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { canonicalBytes } from "../../core/canonical.ts";
import { publicKeyFromB64, verifyBytes } from "../../core/keys.ts";
import { ERR_MODEL_HASH, ERR_MODEL_PACKAGE, ERR_MODEL_ROLLBACK, ERR_MODEL_SIGNATURE } from "../errors.ts";
import { decodeModelPackage, type ModelPackage } from "./package.ts";

/** The pointer file: which version runs, and which ran before (for rollback). */
export interface CurrentModel {
  version: string;
  previous: string | null;
  switchedAt: string;
}

function writeDurable(path: string, data: Buffer | string): void {
  const fd = openSync(path, "w", 0o644);
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export const versionDir = (root: string, version: string): string => join(root, "versions", version);

export function readCurrent(root: string): CurrentModel | undefined {
  const f = join(root, "current.json");
  if (!existsSync(f)) return undefined;
  return JSON.parse(readFileSync(f, "utf8")) as CurrentModel;
}

/** The model directory in use under a models root, or undefined when none is installed. */
export function currentModel(root: string): { version: string; dir: string } | undefined {
  const c = readCurrent(root);
  return c ? { version: c.version, dir: versionDir(root, c.version) } : undefined;
}

/** Points `current.json` at a version: write a temp file, fsync, rename (atomic), fsync the dir. */
function switchTo(root: string, version: string, previous: string | null): CurrentModel {
  const c: CurrentModel = { version, previous, switchedAt: new Date().toISOString() };
  const tmp = join(root, `.current.${randomBytes(4).toString("hex")}.json`);
  writeDurable(tmp, `${JSON.stringify(c)}\n`);
  renameSync(tmp, join(root, "current.json"));
  fsyncDir(root);
  return c;
}

/**
 * Agent side: verifies the cloud's signature over the manifest and every file's SHA-256, writes the
 * version to its own directory (fsynced, then renamed into place), and only then switches the
 * pointer. Any failure throws before the pointer moves, so the running model keeps running.
 */
export function installModel(
  pkgIn: ModelPackage | Buffer | string,
  cloudPublicKey: KeyObject | string,
  root: string,
): CurrentModel {
  const pkg = decodeModelPackage(pkgIn);
  const key = typeof cloudPublicKey === "string" ? publicKeyFromB64(cloudPublicKey) : cloudPublicKey;
  const sig = Buffer.from(pkg.signature, "base64");
  if (!verifyBytes(key, canonicalBytes(pkg.manifest), sig)) {
    throw ERR_MODEL_SIGNATURE(`model ${pkg.manifest.version}: signature does not verify; refused`);
  }
  const listed = new Set(pkg.manifest.files.map((f) => f.path));
  for (const name of Object.keys(pkg.files)) {
    if (!listed.has(name))
      throw ERR_MODEL_PACKAGE(`model package carries ${name}, which its manifest does not list`);
  }
  const bytes = new Map<string, Buffer>();
  for (const f of pkg.manifest.files) {
    const b64 = pkg.files[f.path];
    if (b64 === undefined) throw ERR_MODEL_PACKAGE(`model package lacks ${f.path}`);
    const b = Buffer.from(b64, "base64");
    const h = createHash("sha256").update(b).digest("hex");
    if (h !== f.sha256 || b.length !== f.size) {
      throw ERR_MODEL_HASH(
        `model ${pkg.manifest.version}: ${f.path} sha256 ${h} ≠ manifest ${f.sha256}; refused`,
      );
    }
    bytes.set(f.path, b);
  }
  const { version } = pkg.manifest;
  mkdirSync(join(root, "versions"), { recursive: true });
  const dest = versionDir(root, version);
  if (!existsSync(dest)) {
    const tmp = `${dest}.tmp-${randomBytes(4).toString("hex")}`;
    mkdirSync(tmp);
    try {
      for (const [name, b] of bytes) writeDurable(join(tmp, name), b);
      writeDurable(
        join(tmp, "manifest.signed.json"),
        JSON.stringify({ manifest: pkg.manifest, signature: pkg.signature }),
      );
      fsyncDir(tmp);
      renameSync(tmp, dest);
      fsyncDir(join(root, "versions"));
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }
  const cur = readCurrent(root);
  if (cur?.version === version) return cur;
  return switchTo(root, version, cur?.version ?? null);
}

/** Switches back to the version that ran before the last install. */
export function rollbackModel(root: string): CurrentModel {
  const cur = readCurrent(root);
  if (!cur?.previous || !existsSync(versionDir(root, cur.previous))) {
    throw ERR_MODEL_ROLLBACK(`no previous model under ${root} to roll back to`);
  }
  return switchTo(root, cur.previous, cur.version);
}

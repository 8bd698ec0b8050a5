import * as crypto from "node:crypto";
import { createHash, type KeyObject } from "node:crypto";
import { canonicalBytes, canonicalJson } from "../core/canonical.ts";
import type { CaptureTime } from "../core/clock.ts";
import { signBytes, verifyBytes } from "../core/keys.ts";

/** What a record is, before chaining. */
export interface RecordData {
  device: string;
  stream: string;
  seq: number;
  t: CaptureTime;
  kind: string;
  body: unknown;
}

/** The first link of a stream: bound to device and stream, so chains cannot be spliced across them. */
export function genesis(device: string, stream: string): Buffer {
  return createHash("sha256").update(`barnlink/v1/genesis\0${device}\0${stream}`).digest();
}

/** The bytes a record's link hashes: canonical JSON of exactly these fields. */
export function recordBytes(r: RecordData): Buffer {
  return canonicalBytes({
    device: r.device,
    stream: r.stream,
    seq: r.seq,
    t: r.t,
    kind: r.kind,
    body: r.body,
  });
}

/** link(n) = SHA-256(link(n-1) ‖ canonical(record n)). */
export function link(prev: Buffer, r: RecordData): Buffer {
  return createHash("sha256").update(prev).update(recordBytes(r)).digest();
}

// JSON.stringify of the few names that repeat in every record (device, stream, kind, boot id).
const quoted = new Map<string, string>();
function jsonString(s: string): string {
  let q = quoted.get(s);
  if (q === undefined) {
    q = JSON.stringify(s);
    if (quoted.size >= 4096) quoted.clear();
    quoted.set(s, q);
  }
  return q;
}

/**
 * canonicalJson(t) for a capture time: written out directly when `t` is exactly the four own fields
 * {boot: string, mono, synced: boolean, wall} with finite numbers (always, for records from the
 * outbox or a decoded batch); anything else goes through canonicalJson.
 */
export function canonicalTime(t: CaptureTime): string {
  const { boot, mono, synced, wall } = t;
  if (
    typeof boot === "string" &&
    typeof mono === "number" &&
    Number.isFinite(mono) &&
    typeof synced === "boolean" &&
    typeof wall === "number" &&
    Number.isFinite(wall) &&
    Object.keys(t).length === 4 &&
    Object.hasOwn(t, "boot") &&
    Object.hasOwn(t, "mono") &&
    Object.hasOwn(t, "synced") &&
    Object.hasOwn(t, "wall")
  )
    return `{"boot":${jsonString(boot)},"mono":${JSON.stringify(mono)},"synced":${synced},"wall":${JSON.stringify(wall)}}`;
  return canonicalJson(t);
}

// One-shot SHA-256 (crypto.hash, Node ≥ 20.12) over prev ‖ text in a reused buffer: no Hash object
// per record. Falls back to createHash where crypto.hash is missing or the text is large.
const oneShot = (crypto as { hash?: (alg: string, data: Buffer, enc: "buffer") => Buffer }).hash;
const scratch = Buffer.allocUnsafe(16 * 1024);

/** SHA-256(prev ‖ utf8(text)). */
export function linkOfText(prev: Buffer, text: string): Buffer {
  if (oneShot && prev.length === 32 && text.length * 3 <= scratch.length - 32) {
    prev.copy(scratch, 0);
    const n = scratch.write(text, 32, "utf8");
    return oneShot("sha256", scratch.subarray(0, 32 + n), "buffer");
  }
  return createHash("sha256").update(prev).update(text, "utf8").digest();
}

/** Same as link(), from already-canonical body text (the outbox stores canonical text). */
export function linkFromParts(
  prev: Buffer,
  device: string,
  stream: string,
  seq: number,
  t: CaptureTime,
  kind: string,
  bodyCanonical: string,
): Buffer {
  // Keys in sorted order: body, device, kind, seq, stream, t — identical to canonicalJson of the record.
  const text =
    `{"body":${bodyCanonical},"device":${jsonString(device)},"kind":${jsonString(kind)},` +
    `"seq":${seq},"stream":${jsonString(stream)},"t":${canonicalTime(t)}}`;
  return linkOfText(prev, text);
}

/**
 * Same as linkFromParts, from a capture time given as the four values the outbox stores (its
 * columns): the link covers exactly what is stored and sent, nothing a caller's object carried beside.
 * `wall` and `mono` must be finite numbers and `boot` a string (the outbox checks before calling).
 * (Writing the text as bytes straight into the buffer instead of building a string was tried: no
 * faster in V8.)
 */
export function linkFromColumns(
  prev: Buffer,
  device: string,
  stream: string,
  seq: number,
  kind: string,
  bodyCanonical: string,
  wall: number,
  boot: string,
  mono: number,
  synced: boolean,
): Buffer {
  return linkOfRecord(
    prev,
    bodyCanonical,
    deviceKindText(device, kind),
    seq,
    streamBootText(stream, boot),
    mono,
    synced,
    wall,
  );
}

/** The part of a record's canonical text between its body and its seq. */
export const deviceKindText = (device: string, kind: string) =>
  `,"device":${jsonString(device)},"kind":${jsonString(kind)},"seq":`;
/** The part between its seq and its monotonic time. */
export const streamBootText = (stream: string, boot: string) =>
  `,"stream":${jsonString(stream)},"t":{"boot":${jsonString(boot)},"mono":`;

/**
 * linkFromColumns with the texts that repeat from record to record made once by the caller
 * (deviceKindText, streamBootText): the outbox's append loop.
 */
export function linkOfRecord(
  prev: Buffer,
  bodyCanonical: string,
  deviceKind: string,
  seq: number,
  streamBoot: string,
  mono: number,
  synced: boolean,
  wall: number,
): Buffer {
  // String(n) is JSON.stringify(n) for every finite number (-0 included: both "0").
  return linkOfText(
    prev,
    `{"body":${bodyCanonical}${deviceKind}${seq}${streamBoot}${mono},"synced":${synced},"wall":${wall}}}`,
  );
}

/** A signed claim by a device that `stream` reached `seq` with link `hash`. */
export function headMessage(device: string, stream: string, seq: number, hash: Buffer): Buffer {
  return canonicalBytes({ ctx: "barnlink/v1/head", device, stream, seq, hash: hash.toString("hex") });
}

export function signHead(key: KeyObject, device: string, stream: string, seq: number, hash: Buffer): Buffer {
  return signBytes(key, headMessage(device, stream, seq, hash));
}

export function verifyHead(
  key: KeyObject,
  device: string,
  stream: string,
  seq: number,
  hash: Buffer,
  sig: Buffer,
): boolean {
  return verifyBytes(key, headMessage(device, stream, seq, hash), sig);
}

export type ChainCheck = { ok: true; hash: Buffer } | { ok: false; at: number; reason: string };

/**
 * Recomputes a run of records from `prev` and compares the final link with the signed head.
 * Catches tampered, reordered, inserted and truncated records: any of them changes the final link.
 */
export function verifyRun(prev: Buffer, records: RecordData[], headHash: Buffer): ChainCheck {
  let h = prev;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (i > 0 && r.seq !== records[i - 1]!.seq + 1)
      return { ok: false, at: r.seq, reason: "seq not consecutive" };
    h = link(h, r);
  }
  if (!h.equals(headHash))
    return { ok: false, at: records.at(-1)?.seq ?? 0, reason: "final link differs from signed head" };
  return { ok: true, hash: h };
}

import { createHash } from "node:crypto";
import {
  brotliCompressSync,
  brotliDecompressSync,
  deflateRawSync,
  inflateRawSync,
  constants as zc,
} from "node:zlib";
import { ERR_BAD_BATCH } from "../core/errors.ts";
import type { RecordData } from "./chain.ts";
import { FRAME_DICTIONARY_1 } from "./frame-dict.ts";
import { deltas, frameDoc, fromDoc, monoAgainstWall } from "./frame-doc.ts";

/**
 * Up-batch wire format (docs/protocol.md):
 *
 *   "BLNK" | version u8 (=1) | compression u8 | length u32 BE | payload
 *
 * compression: 0 none, 1 deflate-raw, 2 brotli, 3 deflate-raw with the preset dictionary in
 * frame-dict.ts (small live frames: most of their skeleton is in the dictionary).
 *
 * The payload is a JSON document (compressed) holding segments in a columnar form: records of one
 * stream with consecutive seqs, or a gap (an evicted range). The fixed header with magic and length
 * lets `barnlink decode` read frames back to back from `mosquitto_sub -F %p` whatever bytes come
 * between them.
 */
export const MAGIC = Buffer.from("BLNK", "ascii");
export const HEADER_BYTES = 10;
export const MAX_PAYLOAD = 16 * 1024 * 1024;
/** `auto`: `deflate-dict` for a document up to 16 KiB (a live link's frames), `brotli` above (a backlog). */
export type Compression = "none" | "deflate" | "brotli" | "deflate-dict" | "auto";
const COMP_CODE = { none: 0, deflate: 1, brotli: 2, "deflate-dict": 3 } as const;
const SMALL_DOC = 16 * 1024;

export {
  type Batch,
  columnRecords,
  type GapSegment,
  noColumns,
  type OutgoingBatch,
  type RecordColumns,
  type RecordSegment,
  type Segment,
  type StoredSegment,
  type TimedBody,
} from "./batch-types.ts";

import type { Batch, OutgoingBatch, RecordSegment, Segment, StoredSegment } from "./batch-types.ts";

// ---- the JSON document inside the frame (its schemas and decoding: frame-doc.ts) ----------------
function sameKeys(bodies: unknown[]): string[] | null {
  if (bodies.length < 2) return null;
  const first = bodies[0];
  if (first === null || typeof first !== "object" || Array.isArray(first)) return null;
  const keys = Object.keys(first).filter((k) => (first as Record<string, unknown>)[k] !== undefined);
  for (const b of bodies) {
    if (b === null || typeof b !== "object" || Array.isArray(b)) return null;
    const ks = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
    if (ks.length !== keys.length || !keys.every((k) => (b as Record<string, unknown>)[k] !== undefined))
      return null;
  }
  return keys;
}

/** The frame's JSON text: stored segments written out directly, the others through their doc form. */
function docJson(batch: OutgoingBatch): string {
  const compact = batch.id === undefined;
  const segs = batch.segments.map((s) =>
    s.type === "stored" ? storedJson(s, compact) : JSON.stringify(toDocSegment(s, compact)),
  );
  const s = `"s":[${segs.join(",")}]}`;
  const d = JSON.stringify(batch.device);
  if (!compact) return `{"v":1,"d":${d},"id":${JSON.stringify(batch.id)},"at":${batch.sentAt},${s}`;
  const first = batch.segments.find((x) => x.type !== "gap");
  const firstWall = first?.type === "stored" ? first.columns.wall[0] : first?.records[0]?.t.wall;
  const at = firstWall === undefined ? `"at":${batch.sentAt}` : `"ao":${batch.sentAt - firstWall}`;
  return `{"v":2,"d":${d},${at},${s}`;
}

const deltaText = (xs: number[]) => {
  let out = "";
  for (let i = 0; i < xs.length; i++) out += i === 0 ? `${xs[0]}` : `,${xs[i]! - xs[i - 1]!}`;
  return `[${out}]`;
};

/** A stored segment as its doc's JSON text: what JSON.stringify(toDocSegment(…)) gives for its records. */
function storedJson(s: StoredSegment, compact: boolean): string {
  const c = s.columns;
  const n = c.body.length;
  const kind0 = c.kind[0]!;
  const boots: string[] = [];
  const bootIdx = new Map<string, number>();
  let sameKind = true;
  let sameSynced = true;
  for (let i = 0; i < n; i++) {
    if (c.kind[i] !== kind0) sameKind = false;
    if (c.synced[i] !== c.synced[0]) sameSynced = false;
    if (!bootIdx.has(c.boot[i]!)) {
      bootIdx.set(c.boot[i]!, boots.length);
      boots.push(c.boot[i]!);
    }
  }
  const ti = boots.length > 1 ? `,"ti":[${c.boot.map((b) => bootIdx.get(b)).join(",")}]` : "";
  const ts = sameSynced ? `${c.synced[0]}` : `[${c.synced.map((x) => (x ? 1 : 0)).join(",")}]`;
  return (
    `{"st":${JSON.stringify(s.stream)},"f":${s.first},"n":${n},"p":"${s.prev.toString("base64")}",` +
    `"h":"${s.head.hash.toString("base64")}","g":"${s.head.sig.toString("base64")}",` +
    `"k":${JSON.stringify(sameKind ? kind0 : c.kind)},"tb":${JSON.stringify(boots)}${ti},` +
    `"tw":${deltaText(c.wall)},` +
    (compact ? `"tq":[${monoAgainstWall(c.wall, c.mono).join(",")}]` : `"tm":${deltaText(c.mono)}`) +
    `,"ts":${ts},"b":${(sameKind && kind0 === "reading" && readingColumns(c.body)) || `[${c.body.join(",")}]`}}`
  );
}

// A reading's canonical text: {"quality":"ok"|"suspect",? "unit":"…","value":<number>}.
const QUALITY_OK = '{"quality":"ok","unit":';
const QUALITY_SUSPECT = '{"quality":"suspect","unit":';
const PLAIN = '{"unit":';
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * Canonical reading bodies as columns ({"c":{"quality"?,"unit","value"}}) cut straight from their
 * text, or null when any body is not exactly of one reading shape (then the bodies go as a list).
 */
function readingColumns(bodies: string[]): string | null {
  const withQuality = bodies[0]!.startsWith('{"quality":');
  const quality: string[] = [];
  const units: string[] = [];
  const values: string[] = [];
  for (const b of bodies) {
    let at: number;
    if (!withQuality) {
      if (!b.startsWith(PLAIN)) return null;
      at = PLAIN.length;
    } else if (b.startsWith(QUALITY_OK)) {
      quality.push('"ok"');
      at = QUALITY_OK.length;
    } else if (b.startsWith(QUALITY_SUSPECT)) {
      quality.push('"suspect"');
      at = QUALITY_SUSPECT.length;
    } else return null;
    // The unit: a JSON string, ended by the first quote no backslash escapes.
    if (b[at] !== '"') return null;
    let end = at + 1;
    while (end < b.length && b[end] !== '"') end += b[end] === "\\" ? 2 : 1;
    if (end >= b.length || !b.startsWith(',"value":', end + 1) || b[b.length - 1] !== "}") return null;
    const value = b.slice(end + 10, -1);
    if (!JSON_NUMBER.test(value)) return null;
    units.push(b.slice(at, end + 1));
    values.push(value);
  }
  const q = withQuality ? `"quality":[${quality.join(",")}],` : "";
  return `{"c":{${q}"unit":[${units.join(",")}],"value":[${values.join(",")}]}}`;
}

function toDocSegment(s: Segment, compact: boolean): Record<string, unknown> {
  if (s.type === "gap") {
    return {
      st: s.stream,
      gap: { from: s.from, to: s.to, r: s.reason },
      p: s.prev.toString("base64"),
      h: s.head.hash.toString("base64"),
      g: s.head.sig.toString("base64"),
    };
  }
  const rs = s.records;
  const kindsList = rs.map((r) => r.kind);
  const boots = [...new Set(rs.map((r) => r.t.boot))];
  const synced = rs.map((r) => (r.t.synced ? 1 : 0) as 0 | 1);
  const bodies = rs.map((r) => r.body);
  const keys = sameKeys(bodies);
  const wall = rs.map((r) => r.t.wall);
  const mono = rs.map((r) => r.t.mono);
  return {
    st: s.stream,
    f: s.first,
    n: rs.length,
    p: s.prev.toString("base64"),
    h: s.head.hash.toString("base64"),
    g: s.head.sig.toString("base64"),
    k: kindsList.every((k) => k === kindsList[0]) ? kindsList[0]! : kindsList,
    tb: boots,
    ...(boots.length > 1 ? { ti: rs.map((r) => boots.indexOf(r.t.boot)) } : {}),
    tw: deltas(wall),
    ...(compact ? { tq: monoAgainstWall(wall, mono) } : { tm: deltas(mono) }),
    ts: synced.every((x) => x === synced[0]) ? synced[0] === 1 : synced,
    b: keys
      ? {
          c: Object.fromEntries(keys.map((k) => [k, bodies.map((b) => (b as Record<string, unknown>)[k])])),
        }
      : bodies,
  };
}

/** A v2 frame's batch id: the first 128 bits of SHA-256 over the whole frame (header and payload), hex. */
export function frameId(frame: Buffer): string {
  return createHash("sha256").update(frame).digest("hex").slice(0, 32);
}

export function encodeBatch(batch: OutgoingBatch, compression: Compression = "auto"): Buffer {
  const json = Buffer.from(docJson(batch), "utf8");
  const comp = compression !== "auto" ? compression : json.length <= SMALL_DOC ? "deflate-dict" : "brotli";
  let payload: Buffer;
  if (comp === "brotli") {
    payload = brotliCompressSync(json, {
      params: {
        [zc.BROTLI_PARAM_QUALITY]: 5,
        [zc.BROTLI_PARAM_SIZE_HINT]: json.length,
        [zc.BROTLI_PARAM_MODE]: zc.BROTLI_MODE_TEXT,
      },
    });
  } else if (comp === "deflate") payload = deflateRawSync(json, { level: 6 });
  else if (comp === "deflate-dict")
    payload = deflateRawSync(json, { level: 9, dictionary: FRAME_DICTIONARY_1 });
  else payload = json;
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header[4] = 1;
  header[5] = COMP_CODE[comp];
  header.writeUInt32BE(payload.length, 6);
  return Buffer.concat([header, payload]);
}

/** Decodes one frame (exactly). Throws BL_BAD_BATCH naming what is wrong; never anything else. */
export function decodeBatch(buf: Buffer): Batch {
  const { batch, rest } = decodeFrame(buf);
  if (rest.length !== 0) throw ERR_BAD_BATCH(`${rest.length} bytes after the frame`);
  return batch;
}

export function decodeFrame(buf: Buffer): { batch: Batch; rest: Buffer } {
  if (buf.length < HEADER_BYTES) throw ERR_BAD_BATCH(`frame too short (${buf.length} bytes)`);
  if (!buf.subarray(0, 4).equals(MAGIC)) throw ERR_BAD_BATCH("not a barnlink batch (magic BLNK missing)");
  if (buf[4] !== 1) throw ERR_BAD_BATCH(`unsupported batch version ${buf[4]}`);
  const comp = buf[5];
  const len = buf.readUInt32BE(6);
  if (len > MAX_PAYLOAD) throw ERR_BAD_BATCH(`payload length ${len} exceeds ${MAX_PAYLOAD}`);
  if (buf.length < HEADER_BYTES + len)
    throw ERR_BAD_BATCH(`truncated frame: ${buf.length - HEADER_BYTES} of ${len} bytes`);
  const payload = buf.subarray(HEADER_BYTES, HEADER_BYTES + len);
  let json: Buffer;
  try {
    if (comp === 0) json = payload;
    else if (comp === 1) json = inflateRawSync(payload, { maxOutputLength: 256 * 1024 * 1024 });
    else if (comp === 2) json = brotliDecompressSync(payload, { maxOutputLength: 256 * 1024 * 1024 });
    else if (comp === 3)
      json = inflateRawSync(payload, { maxOutputLength: 256 * 1024 * 1024, dictionary: FRAME_DICTIONARY_1 });
    else throw ERR_BAD_BATCH(`unknown compression ${comp}`);
  } catch (e) {
    if (ERR_BAD_BATCH.is(e)) throw e;
    throw ERR_BAD_BATCH(`payload does not decompress: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.toString("utf8"));
  } catch (e) {
    throw ERR_BAD_BATCH(`payload is not JSON: ${(e as Error).message}`);
  }
  const r = frameDoc.safeParse(parsed);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw ERR_BAD_BATCH(`batch field ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  const frame = buf.subarray(0, HEADER_BYTES + len);
  return { batch: fromDoc(r.data, () => frameId(frame)), rest: buf.subarray(HEADER_BYTES + len) };
}

/** Expands a record segment into full records. */
export function segmentRecords(device: string, s: RecordSegment): RecordData[] {
  return s.records.map((r, i) => ({
    device,
    stream: s.stream,
    seq: s.first + i,
    t: r.t,
    kind: r.kind,
    body: r.body,
  }));
}

/** Reads concatenated frames from a byte stream, skipping whatever lies between them (newlines). */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Array<{ batch?: Batch; error?: Error }> {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Array<{ batch?: Batch; error?: Error }> = [];
    for (;;) {
      const at = this.buf.indexOf(MAGIC);
      if (at < 0) {
        this.buf = this.buf.subarray(Math.max(0, this.buf.length - 3));
        return out;
      }
      this.buf = this.buf.subarray(at);
      if (this.buf.length < HEADER_BYTES) return out;
      const len = this.buf.readUInt32BE(6);
      if (len > MAX_PAYLOAD) {
        out.push({ error: ERR_BAD_BATCH(`payload length ${len} exceeds ${MAX_PAYLOAD}`) });
        this.buf = this.buf.subarray(4);
        continue;
      }
      if (this.buf.length < HEADER_BYTES + len) return out;
      const frame = this.buf.subarray(0, HEADER_BYTES + len);
      this.buf = this.buf.subarray(HEADER_BYTES + len);
      try {
        out.push({ batch: decodeBatch(frame) });
      } catch (e) {
        out.push({ error: e as Error });
      }
    }
  }
  /** Bytes left over at end of input that never formed a frame. */
  pending(): number {
    return this.buf.length;
  }
}

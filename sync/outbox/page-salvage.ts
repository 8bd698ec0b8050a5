import { existsSync, readFileSync } from "node:fs";
import { ERR_OUTBOX_CORRUPT } from "../errors.ts";
import { isKind } from "../kinds.ts";
import type { SalvagedHead, SalvagedRecord } from "./salvage.ts";

/**
 * Page-level salvage: reads an outbox file's b-tree pages directly (SQLite file format,
 * https://sqlite.org/fileformat2.html), without SQLite, for files SQLite refuses whole: a destroyed
 * 100-byte header (SQLITE_NOTADB), a truncated file (every query "malformed"). Every page that still
 * parses as a b-tree page gives its cells; rows are recognised by their shape (layout 3, see
 * sqlite-outbox.ts SCHEMA). What this returns is only a candidate: relink() re-checks every row
 * against the links stored with it, so a stale or damaged row is never carried over.
 * (The sqlite3 CLI's `.recover` would be the first choice, but Debian 12's sqlite3 3.40.1 fails it
 * with "SQL logic error" even on a healthy file, so it is not relied on.)
 */
export interface PageSalvage {
  heads: SalvagedHead[];
  records: SalvagedRecord[];
  gaps: Array<Record<string, unknown>>;
  pageSize: number;
  errors: string[];
}

type Value = number | string | Buffer | null;

const PAGE_SIZES = [4096, 1024, 2048, 8192, 16384, 32768, 65536, 512];

function varint(b: Buffer, at: number): [value: number, next: number] {
  let v = 0;
  for (let i = 0; i < 8; i++) {
    const byte = b[at + i]!;
    v = v * 128 + (byte & 0x7f);
    if (byte < 0x80) return [v, at + i + 1];
  }
  return [v * 256 + b[at + 8]!, at + 9];
}

/** A record's values (https://sqlite.org/fileformat2.html#record_format); throws on garbage. */
function decodeRecord(p: Buffer): Value[] {
  const [headerSize, first] = varint(p, 0);
  if (headerSize < 1 || headerSize > p.length) throw ERR_OUTBOX_CORRUPT("bad record header");
  const types: number[] = [];
  for (let at = first; at < headerSize; ) {
    const [t, next] = varint(p, at);
    types.push(t);
    at = next;
  }
  const out: Value[] = [];
  let at = headerSize;
  const intSize = [0, 1, 2, 3, 4, 6, 8];
  for (const t of types) {
    if (t === 0) out.push(null);
    else if (t <= 6) {
      const n = intSize[t]!;
      if (at + n > p.length) throw ERR_OUTBOX_CORRUPT("record overruns its cell");
      out.push(readInt(p, at, n));
      at += n;
    } else if (t === 7) {
      out.push(p.readDoubleBE(at));
      at += 8;
    } else if (t === 8 || t === 9) out.push(t - 8);
    else if (t >= 12) {
      const n = (t - (t % 2 === 0 ? 12 : 13)) / 2;
      if (at + n > p.length) throw ERR_OUTBOX_CORRUPT("record overruns its cell");
      const bytes = p.subarray(at, at + n);
      out.push(t % 2 === 0 ? Buffer.from(bytes) : bytes.toString("utf8"));
      at += n;
    } else throw ERR_OUTBOX_CORRUPT("reserved serial type");
  }
  return out;
}

function readInt(p: Buffer, at: number, n: number): number {
  if (n === 8) return Number(p.readBigInt64BE(at));
  return p.readIntBE(at, n);
}

interface Cell {
  rowid?: number;
  values: Value[];
}

/** Every cell of every page that parses as a table-leaf or index b-tree page. */
function cells(pages: Map<number, Buffer>, pageSize: number, errors: { bad: number }): Cell[] {
  const out: Cell[] = [];
  const usable = pageSize;
  const payloadOf = (page: Buffer, at: number, size: number, index: boolean): Buffer => {
    const x = index ? Math.floor(((usable - 12) * 64) / 255) - 23 : usable - 35;
    if (size <= x) return page.subarray(at, at + size);
    const m = Math.floor(((usable - 12) * 32) / 255) - 23;
    const k = m + ((size - m) % (usable - 4));
    const local = k <= x ? k : m;
    const parts = [page.subarray(at, at + local)];
    let got = local;
    let next = page.readUInt32BE(at + local);
    for (let guard = 0; got < size && next !== 0 && guard < 10_000; guard++) {
      const o = pages.get(next);
      if (!o) throw ERR_OUTBOX_CORRUPT("overflow page missing");
      const take = Math.min(size - got, usable - 4);
      parts.push(o.subarray(4, 4 + take));
      got += take;
      next = o.readUInt32BE(0);
    }
    if (got < size) throw ERR_OUTBOX_CORRUPT("overflow chain short");
    return Buffer.concat(parts);
  };
  for (const [no, page] of pages) {
    const h = no === 1 ? 100 : 0;
    const type = page[h];
    if (type !== 0x0d && type !== 0x0a && type !== 0x02) continue;
    const count = page.readUInt16BE(h + 3);
    const ptrs = h + (type === 0x02 ? 12 : 8);
    if (ptrs + 2 * count > pageSize) continue;
    for (let i = 0; i < count; i++) {
      try {
        let at = page.readUInt16BE(ptrs + 2 * i);
        if (at < ptrs || at >= pageSize) throw ERR_OUTBOX_CORRUPT("cell pointer out of page");
        if (type === 0x02) at += 4;
        const [size, a1] = varint(page, at);
        at = a1;
        let rowid: number | undefined;
        if (type === 0x0d) [rowid, at] = varint(page, at);
        out.push({ rowid, values: decodeRecord(payloadOf(page, at, size, type !== 0x0d)) });
      } catch {
        errors.bad++;
      }
    }
  }
  return out;
}

/** Pages of the main file, then the committed frames of its WAL (newer versions win). */
function readPages(path: string, pageSize: number): Map<number, Buffer> {
  const pages = new Map<number, Buffer>();
  const file = readFileSync(path);
  for (let i = 0; i * pageSize < file.length; i++) {
    const p = file.subarray(i * pageSize, (i + 1) * pageSize);
    if (p.length === pageSize) pages.set(i + 1, p);
  }
  const walPath = `${path}-wal`;
  if (!existsSync(walPath)) return pages;
  const wal = readFileSync(walPath);
  if (wal.length < 32 || wal.readUInt32BE(8) !== pageSize) return pages;
  // Frames: 24-byte header + a page; a commit frame names the database size. Only committed ones count.
  let batch: Array<[number, Buffer]> = [];
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    batch.push([wal.readUInt32BE(at), wal.subarray(at + 24, at + 24 + pageSize)]);
    if (wal.readUInt32BE(at + 4) !== 0) {
      for (const [n, p] of batch) pages.set(n, p);
      batch = [];
    }
  }
  return pages;
}

const isInt = (v: Value): v is number => typeof v === "number" && Number.isInteger(v);

/** Rows of layout 3 recognised by shape: records (WITHOUT ROWID: index cells), streams, boots, kinds. */
function rowsOf(all: Cell[]) {
  const streams = new Map<number, SalvagedHead>();
  const boots = new Map<number, string>();
  const kinds = new Map<number, string>();
  const records: Value[][] = [];
  const gaps: Array<Record<string, unknown>> = [];
  for (const c of all) {
    const v = c.values;
    if (c.rowid === undefined) {
      // records(sid, seq, kid, t_wall, t_mono, bid, t_synced, body, prev, hash, bytes)
      if (
        v.length === 11 &&
        [0, 1, 2, 3, 4, 5, 6, 10].every((i) => isInt(v[i]!)) &&
        typeof v[7] === "string" &&
        (v[8] === null || Buffer.isBuffer(v[8])) &&
        (v[9] === null || Buffer.isBuffer(v[9]))
      )
        records.push(v);
      continue;
    }
    // streams(sid, stream, last_seq, last_hash, acked_seq, evicted, priority): sid is the rowid.
    if (v.length === 7 && v[0] === null && typeof v[1] === "string" && isInt(v[2]!) && Buffer.isBuffer(v[3]))
      streams.set(c.rowid, {
        stream: v[1],
        lastSeq: v[2] as number,
        lastHash: v[3],
        ackedSeq: Number(v[4] ?? 0),
        evicted: Number(v[5] ?? 0),
        priority: Number(v[6] ?? 2),
      });
    else if (v.length === 2 && v[0] === null && typeof v[1] === "string")
      (isKind(v[1]) ? kinds : boots).set(c.rowid, v[1]);
    // gaps(stream, from_seq, to_seq, reason, prev, hash, priority, count)
    else if (
      v.length === 8 &&
      typeof v[0] === "string" &&
      isInt(v[1]!) &&
      isInt(v[2]!) &&
      typeof v[3] === "string" &&
      Buffer.isBuffer(v[4]) &&
      Buffer.isBuffer(v[5])
    ) {
      const [stream, from_seq, to_seq, reason, prev, hash, priority, count] = v;
      gaps.push({ stream, from_seq, to_seq, reason, prev, hash, priority, count });
    }
  }
  return { streams, boots, kinds, records, gaps };
}

export function salvagePages(path: string, headerPageSize?: number): PageSalvage {
  const sizes = headerPageSize && PAGE_SIZES.includes(headerPageSize) ? [headerPageSize] : PAGE_SIZES;
  let best: PageSalvage = { heads: [], records: [], gaps: [], pageSize: 0, errors: [] };
  for (const pageSize of sizes) {
    const bad = { bad: 0 };
    const r = rowsOf(cells(readPages(path, pageSize), pageSize, bad));
    const records: SalvagedRecord[] = [];
    let unnamed = 0;
    const seen = new Set<string>();
    for (const v of r.records) {
      const [sid, seq, kid, wall, mono, bid, synced, body, prev, hash, bytes] = v as [
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        string,
        Buffer | null,
        Buffer | null,
        number,
      ];
      const head = r.streams.get(sid);
      const kind = r.kinds.get(kid);
      const boot = r.boots.get(bid);
      if (!head || kind === undefined || boot === undefined) {
        unnamed++;
        continue;
      }
      // A row at or below the acked seq is stale (a freed page still holding acked rows).
      if (seq <= head.ackedSeq || seq > head.lastSeq) continue;
      const key = `${sid}:${seq}`;
      if (seen.has(key)) continue;
      seen.add(key);
      records.push({
        stream: head.stream,
        seq,
        kind,
        t_wall: wall,
        t_boot: boot,
        t_mono: mono,
        t_synced: synced,
        body,
        prev,
        hash,
        bytes,
      });
    }
    const errors = [`page-level salvage at page size ${pageSize}`];
    if (bad.bad) errors.push(`${bad.bad} cell(s) on damaged pages could not be read`);
    if (unnamed) errors.push(`${unnamed} record(s) whose stream, kind or boot id row was lost`);
    const cand = { heads: [...r.streams.values()], records, gaps: r.gaps, pageSize, errors };
    if (cand.records.length + cand.heads.length > best.records.length + best.heads.length) best = cand;
    if (cand.records.length > 0) break;
  }
  best.records.sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : a.seq - b.seq));
  return best;
}

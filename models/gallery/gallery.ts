import { deflateSync, inflateSync } from "node:zlib";
import Database from "better-sqlite3";
import { ERR_MODEL_GALLERY } from "../errors.ts";
import { type Candidate, TemplateMatrix } from "./matrix.ts";
import { SCHEMA } from "./schema.ts";

export interface GalleryOptions {
  dim: number;
  modelVersion: string;
  /** Templates kept per pig; beyond it the lowest age-weighted one goes. */
  maxTemplatesPerPig?: number;
  /** Age at which a template's weight halves: pigs change as they grow. */
  halfLifeDays?: number;
  /** A confident match adds a template at most this often per pig… */
  refreshEveryMs?: number;
  /** …and only if it differs from the pig's templates (cosine below this): new looks, not duplicates. */
  refreshMaxSimilarity?: number;
  /**
   * Sightings' last-seen times are written to SQLite at most this often (ms; each pig's newest is
   * kept in memory meanwhile and read back by pigs() and unseenSince()): "unseen" counts in days,
   * and a write per sighting was a commit per frame (issue #15). A crash loses at most this much of it.
   */
  seenWriteEveryMs?: number;
}

export interface TemplateInput {
  vec: Float32Array;
  /** The face crop it came from (RGB bytes), kept so a new model can re-embed the gallery. */
  crop?: Uint8Array;
}

const DAY = 86_400_000;

/**
 * The enrolled herd: several templates per pig in SQLite, mirrored in a flat matrix for matching.
 * Claims live in the same database so a repeated claim is one indexed lookup.
 */
export class Gallery {
  readonly db: Database.Database;
  private matrix: TemplateMatrix;
  private readonly o: Required<GalleryOptions>;
  /** Prepared once: better-sqlite3 compiles a statement on every prepare(). */
  private readonly stmts = new Map<string, Database.Statement>();
  /** Last-seen times not yet written (markSeen), and when they were last written. */
  private readonly seen = new Map<string, number>();
  private seenWrittenAt = Number.NEGATIVE_INFINITY;

  constructor(path: string, o: GalleryOptions) {
    this.o = {
      maxTemplatesPerPig: 8,
      halfLifeDays: 45,
      refreshEveryMs: 6 * 3_600_000,
      refreshMaxSimilarity: 0.95,
      seenWriteEveryMs: 60_000,
      ...o,
    };
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.exec(SCHEMA);
    const dim = this.meta("dim");
    if (dim && Number(dim) !== o.dim) {
      throw ERR_MODEL_GALLERY(`gallery ${path} holds ${dim}-d templates; the model makes ${o.dim}-d`);
    }
    this.setMeta("dim", String(o.dim));
    if (!this.meta("model")) this.setMeta("model", o.modelVersion);
    this.matrix = this.load();
  }

  meta(key: string): string | undefined {
    const row = this.sql("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined;
    return row?.value;
  }

  private setMeta(key: string, value: string): void {
    this.sql(
      "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    ).run(key, value);
  }

  /** The model version that made the stored templates (differs from the running one after a rollout). */
  get templateModel(): string | undefined {
    return this.meta("model");
  }

  private load(): TemplateMatrix {
    const m = new TemplateMatrix(this.o.dim, 1024);
    const rows = this.sql("SELECT pig, vec FROM templates ORDER BY id").all() as {
      pig: string;
      vec: Buffer;
    }[];
    for (const r of rows)
      m.add(r.pig, new Float32Array(r.vec.buffer.slice(r.vec.byteOffset, r.vec.byteOffset + r.vec.length)));
    return m;
  }

  get templateCount(): number {
    return this.matrix.size;
  }

  pigs(): { id: string; enrolledAt: number; lastSeen: number | null; source: string }[] {
    this.flushSeen();
    return this.sql(
      "SELECT id, enrolled_at AS enrolledAt, last_seen AS lastSeen, source FROM pigs ORDER BY id",
    ).all() as { id: string; enrolledAt: number; lastSeen: number | null; source: string }[];
  }

  has(pig: string): boolean {
    return this.sql("SELECT 1 FROM pigs WHERE id = ?").get(pig) !== undefined;
  }

  /** Enrols a pig (or adds to it) with labelled templates. */
  enrol(pig: string, templates: TemplateInput[], source: string, now: number): void {
    this.db.transaction(() => {
      this.db
        .prepare("INSERT INTO pigs(id, enrolled_at, source) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING")
        .run(pig, now, source);
      for (const t of templates) this.insert(pig, t, source, 1, now);
      this.cap(pig, now);
    })();
  }

  private insert(pig: string, t: TemplateInput, source: string, score: number, now: number): void {
    const vec = Buffer.from(t.vec.buffer, t.vec.byteOffset, t.vec.byteLength);
    const crop = t.crop ? deflateSync(t.crop, { level: 1 }) : null;
    this.sql(
      "INSERT INTO templates(pig, vec, crop, created_at, source, score) VALUES (?, ?, ?, ?, ?, ?)",
    ).run(pig, vec, crop, now, source, score);
    this.matrix.add(pig, Float32Array.from(t.vec));
  }

  /** Drops the lowest-weighted templates beyond the cap; weight halves every halfLifeDays. */
  private cap(pig: string, now: number): void {
    const rows = this.sql("SELECT id, created_at AS t FROM templates WHERE pig = ?").all(pig) as {
      id: number;
      t: number;
    }[];
    const extra = rows.length - this.o.maxTemplatesPerPig;
    if (extra <= 0) return;
    const weight = (t: number) => 0.5 ** ((now - t) / (this.o.halfLifeDays * DAY));
    rows.sort((a, b) => weight(a.t) - weight(b.t) || a.id - b.id);
    const del = this.sql("DELETE FROM templates WHERE id = ?");
    for (const r of rows.slice(0, extra)) del.run(r.id);
    this.matrix = this.load();
  }

  /** Best non-mate scores of stored templates (see TemplateMatrix.nonMateScores). */
  nonMateScores(sample = 500): number[] {
    return this.matrix.pigCount >= 2 ? this.matrix.nonMateScores(sample) : [];
  }

  /** Leave-one-out best same-pig scores of stored templates (see TemplateMatrix.mateScores). */
  mateScores(sample = 500): number[] {
    return this.matrix.mateScores(sample);
  }

  match(vec: Float32Array, k = 5): Candidate[] {
    return this.matrix.match(vec, k);
  }

  /**
   * Called after a confident match: adds the new look as a template when enough time has passed
   * and it differs from what is stored, so the gallery follows the pig as it grows.
   */
  refresh(pig: string, t: TemplateInput, score: number, now: number): boolean {
    const last = this.sql("SELECT MAX(created_at) AS t FROM templates WHERE pig = ?").get(pig) as {
      t: number | null;
    };
    if (last.t !== null && now - last.t < this.o.refreshEveryMs) return false;
    if (score >= this.o.refreshMaxSimilarity) return false;
    this.db.transaction(() => {
      this.insert(pig, t, "refresh", score, now);
      this.cap(pig, now);
    })();
    return true;
  }

  /** Notes a sighting of the pig (written with the others at most every seenWriteEveryMs). */
  markSeen(pig: string, now: number): void {
    this.seen.set(pig, Math.max(now, this.seen.get(pig) ?? now));
    if (now - this.seenWrittenAt >= this.o.seenWriteEveryMs) this.flushSeen(now);
  }

  /**
   * Writes the pending last-seen times in one transaction. `now` (markSeen's clock) restarts the
   * once-a-minute wait; the reads and close flush without it, so no other clock is mixed in.
   */
  flushSeen(now?: number): void {
    if (now !== undefined) this.seenWrittenAt = now;
    if (this.seen.size === 0) return;
    const upd = this.sql("UPDATE pigs SET last_seen = MAX(COALESCE(last_seen, 0), ?) WHERE id = ?");
    this.db.transaction(() => {
      for (const [pig, t] of this.seen) upd.run(t, pig);
    })();
    this.seen.clear();
  }

  private sql(source: string): Database.Statement {
    let st = this.stmts.get(source);
    if (!st) {
      st = this.db.prepare(source);
      this.stmts.set(source, st);
    }
    return st;
  }

  /** Enrolled pigs not seen since `cutoff` (never-seen pigs count from their enrolment). */
  unseenSince(cutoff: number): string[] {
    this.flushSeen();
    const rows = this.sql("SELECT id FROM pigs WHERE COALESCE(last_seen, enrolled_at) < ? ORDER BY id").all(
      cutoff,
    ) as { id: string }[];
    return rows.map((r) => r.id);
  }

  /** Re-embeds every template from its stored crop with a new model (after a model rollout). */
  reembed(embed: (crop: Uint8Array) => Float32Array, modelVersion: string): number {
    const rows = this.sql("SELECT id, crop FROM templates WHERE crop IS NOT NULL").all() as {
      id: number;
      crop: Buffer;
    }[];
    const upd = this.sql("UPDATE templates SET vec = ? WHERE id = ?");
    this.db.transaction(() => {
      for (const r of rows) {
        const v = embed(new Uint8Array(inflateSync(r.crop)));
        upd.run(Buffer.from(v.buffer, v.byteOffset, v.byteLength), r.id);
      }
      this.sql("DELETE FROM templates WHERE crop IS NULL").run();
      this.setMeta("model", modelVersion);
    })();
    this.matrix = this.load();
    return rows.length;
  }

  close(): void {
    if (this.db.open) this.flushSeen();
    this.db.close();
  }
}

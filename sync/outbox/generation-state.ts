import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type Database from "better-sqlite3";
import { splitGeneration, withGeneration } from "../generation.ts";
import type { Salvage } from "./salvage.ts";

/**
 * The outbox's stream generation (#15, sync/generation.ts). It only goes up: kept in the outbox's
 * meta table and in a side file next to it (`<outbox>.generation`), which survives the outbox file
 * itself being emptied or destroyed. A start from a corrupt or empty file opens the next generation:
 * every stream whose head could not be salvaged restarts at seq 1 as `name#gN`, which the cloud
 * accepts as a declared restart; streams whose heads were salvaged go on under their names.
 */
export class Generations {
  generation = 0;
  /** Configured name → the wire name its records go under in this outbox (`name#gN`). */
  private readonly aliases = new Map<string, string>();

  constructor(
    private readonly path: string,
    private readonly db: Database.Database,
    private readonly streams: ReadonlyMap<string, unknown>,
  ) {}

  /** At open: the stored generation, and the aliases of streams already restarted. */
  load(): void {
    const row = this.db.prepare("SELECT value FROM meta WHERE key='generation'").get() as
      | { value: string }
      | undefined;
    const side = readSide(this.path);
    // A new file beside a side file: the outbox that had that generation is gone (deleted), its
    // heads with it, so this one opens the next generation too.
    if (row === undefined && side > 0 && this.streams.size === 0) this.generation = this.bump(side);
    else this.generation = Math.max(Number(row?.value ?? 0), side);
    for (const wire of this.streams.keys()) this.learn(wire);
  }

  /** After a salvage of a corrupt or empty file: the next generation, stored before any append. */
  open(s: Salvage): number {
    let prior = readSide(this.path);
    for (const n of [...s.heads.map((h) => h.stream), ...s.records.map((r) => r.stream)])
      prior = Math.max(prior, splitGeneration(n).generation);
    return this.bump(prior);
  }

  private bump(prior: number): number {
    const next = prior + 1;
    this.db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('generation', ?)").run(String(next));
    const tmp = `${this.path}.generation.tmp`;
    writeFileSync(tmp, `${next}\n`, { flush: true });
    renameSync(tmp, `${this.path}.generation`);
    return next;
  }

  /** The name an appended record's stream goes under: its own, or its restarted generation's. */
  wireName(name: string): string {
    if (this.streams.has(name)) return name;
    const a = this.aliases.get(name);
    if (a !== undefined) return a;
    if (this.generation === 0 || splitGeneration(name).generation > 0) return name;
    const w = withGeneration(name, this.generation);
    this.aliases.set(name, w);
    return w;
  }

  /** Whether any name needs mapping (else append skips wireName). */
  get active(): boolean {
    return this.generation > 0 || this.aliases.size > 0;
  }

  private learn(wire: string) {
    const { name, generation } = splitGeneration(wire);
    if (generation === 0) return;
    const known = this.aliases.get(name);
    if (!known || splitGeneration(known).generation < generation) this.aliases.set(name, wire);
  }
}

function readSide(path: string): number {
  const f = `${path}.generation`;
  if (!existsSync(f)) return 0;
  const n = Number.parseInt(readFileSync(f, "utf8"), 10);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

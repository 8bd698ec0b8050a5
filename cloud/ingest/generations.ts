import type { Transaction } from "kysely";
import { ERR_SEQ_CONFLICT, ERR_STALE_GENERATION } from "../../core/errors.ts";
import { splitGeneration } from "../../sync/generation.ts";
import type { DB } from "../db/schema.ts";
import type { CommittedRange } from "./evidence-store.ts";
import type { VerifiedSegment } from "./verify.ts";

/** What the store needs of a locked stream row to place a generation's seqs. */
export interface GenerationState {
  committed: number;
  maxSeq: number;
  generation: number;
  seqBase: number;
  headHash?: string | null;
  /** Set when this transaction opened a new generation: the row's columns are written at the end. */
  restarted?: boolean;
}

/**
 * Places one verified segment in the stored stream (#15). A segment of stream `name#gN` belongs to
 * generation N of `name` (no suffix: generation 0); the suffix is signed in every link and head, so
 * it cannot be added or changed without the device key. Generation N's seq s is stored at
 * `seq_base + s`, after everything of the generations before it, so records never collide and the
 * stream keeps one name for every query.
 *
 * - N equal to the stored generation: stored at its base, as before.
 * - N higher: a declared restart, accepted only at seq 1 (the generation's first record or gap).
 *   The previous generation is closed at the highest seq the cloud saw: what it never received
 *   below that is counted as missing, and the restart is recorded (stream_restarts) as evidence.
 * - N lower: a replay of a closed generation, refused (BL_STALE_GENERATION). An undeclared rewind
 *   (seq 1 again under the same generation) stays what it always was: BL_SEQ_CONFLICT.
 */
export async function placeSegment(
  trx: Transaction<DB>,
  device: string,
  s: VerifiedSegment,
  st: GenerationState,
  now: number,
): Promise<{ stored: VerifiedSegment; range: CommittedRange; genStart: number }> {
  const { name, generation } = splitGeneration(s.stream);
  const first = s.type === "gap" ? s.from : s.first;
  const last = s.type === "gap" ? s.to : s.last;
  if (generation < st.generation)
    throw ERR_STALE_GENERATION(
      `${s.stream} ${first}..${last}: generation ${generation} of stream '${name}' was closed by generation ${st.generation}`,
    );
  if (generation > st.generation) {
    if (first !== 1)
      throw ERR_SEQ_CONFLICT(
        `${s.stream}: generation ${generation} starts at seq ${first}; a declared restart starts at seq 1`,
      );
    await openGeneration(trx, device, name, generation, st, now);
  }
  const b = st.seqBase;
  const stored: VerifiedSegment =
    s.type === "gap"
      ? { ...s, stream: name, from: s.from + b, to: s.to + b }
      : {
          ...s,
          stream: name,
          first: s.first + b,
          last: s.last + b,
          records: b === 0 ? s.records : s.records.map((r) => ({ ...r, seq: r.seq + b })),
        };
  return { stored, range: { stream: s.stream, from: first, to: last, hash: s.hash }, genStart: b };
}

async function openGeneration(
  trx: Transaction<DB>,
  device: string,
  name: string,
  generation: number,
  st: GenerationState,
  now: number,
) {
  const base = Math.max(st.maxSeq, st.committed);
  if (base > 0) {
    const above = await trx
      .selectFrom("records")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("device", "=", device)
      .where("stream", "=", name)
      .where("seq", ">", st.committed)
      .executeTakeFirst();
    await trx
      .insertInto("stream_restarts")
      .values({
        device,
        stream: name,
        generation,
        seq_base: base,
        old_generation: st.generation,
        old_committed: st.committed,
        old_max: st.maxSeq,
        old_head_hash: st.headHash ?? null,
        missing: Math.max(0, base - st.committed - Number(above?.n ?? 0)),
        declared_at: now,
      })
      .execute();
  }
  st.generation = generation;
  st.seqBase = base;
  // The closed generation's holes can never be filled (the device lost them): committed moves past.
  st.committed = base;
  st.restarted = true;
}

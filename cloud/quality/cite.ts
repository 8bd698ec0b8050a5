import type { Cite, QRow } from "./types.ts";

/** The seq and time ranges of the rows, per device and stream: what a finding cites. */
export function citesOf(rows: QRow[]): Cite[] {
  const by = new Map<string, Cite>();
  // Several values of one block record are one record cited: count each seq once.
  const seen = new Set<string>();
  for (const r of rows) {
    // A block's value cites the block record itself: seqs count per stored stream.
    const stream = r.recordStream ?? r.stream;
    const k = `${r.device}\0${stream}`;
    const first = !seen.has(`${k}\0${r.seq}`);
    seen.add(`${k}\0${r.seq}`);
    const g = by.get(k);
    if (!g) {
      by.set(k, { device: r.device, stream, fromSeq: r.seq, toSeq: r.seq, count: 1, fromT: r.t, toT: r.t });
      continue;
    }
    g.fromSeq = Math.min(g.fromSeq, r.seq);
    g.toSeq = Math.max(g.toSeq, r.seq);
    g.fromT = Math.min(g.fromT, r.t);
    g.toT = Math.max(g.toT, r.t);
    if (first) g.count++;
  }
  return [...by.values()];
}

export function num(r: QRow): number | null {
  const v = r.body.value;
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

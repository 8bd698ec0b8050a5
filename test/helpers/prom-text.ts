/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests that read what
 * /metrics serves (core/metrics.ts writes it). Test code only: runtime never parses metrics.
 */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (0.0.4): samples plus TYPE lines. Strict: throws on junk. */
export function parsePrometheusText(text: string): { samples: PromSample[]; types: Map<string, string> } {
  const samples: PromSample[] = [];
  const types = new Map<string, string>();
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/;
  const label = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  for (const [n, raw] of text.split("\n").entries()) {
    const l = raw.trim();
    if (!l) continue;
    if (l.startsWith("#")) {
      const m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(l);
      if (m) types.set(m[1]!, m[2]!);
      else if (!/^# HELP \S+/.test(l) && l.startsWith("# TYPE")) throw new Error(`line ${n + 1}: bad TYPE`);
      continue;
    }
    const m = line.exec(l);
    if (!m) throw new Error(`line ${n + 1}: not a sample: ${l}`);
    const labels: Record<string, string> = {};
    if (m[3]) {
      label.lastIndex = 0;
      while (label.lastIndex < m[3].length) {
        const lm = label.exec(m[3]);
        if (!lm) throw new Error(`line ${n + 1}: bad labels: ${m[3]}`);
        labels[lm[1]!] = lm[2]!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
      }
    }
    const v = m[4]!;
    const value = v === "+Inf" ? Infinity : v === "-Inf" ? -Infinity : v === "NaN" ? NaN : Number(v);
    if (Number.isNaN(value) && v !== "NaN") throw new Error(`line ${n + 1}: bad value ${v}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return { samples, types };
}

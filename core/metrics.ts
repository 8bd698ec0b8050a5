/**
 * Prometheus helpers shared by the agent and the cloud. Both expose figures they already keep
 * (link stats, ingest counters, database rows), so metrics are read at scrape time through
 * `collect` callbacks instead of being incremented on every hot path. The text exposition format
 * (0.0.4, https://prometheus.io/docs/instrumenting/exposition_formats/) is written here: core/ may
 * not import prom-client (core/README.md), and a gateway is lighter without it.
 */

export const METRIC_PREFIX = "barnlink_";
export const PROM_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string | number>;
type Sample = { labels?: Labels; value: number };

interface Metric {
  name: string;
  help: string;
  type: "gauge" | "counter";
  labelNames: string[];
  read: () => Sample[] | Promise<Sample[]>;
}

const escapeHelp = (s: string) => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const escapeLabel = (s: string) => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const number = (v: number) => (v === Infinity ? "+Inf" : v === -Infinity ? "-Inf" : String(v));

/** The metrics of one process (what prom-client's Registry did for us: collect and write the text). */
export class Registry {
  private readonly list: Metric[] = [];
  private defaults: Record<string, string> = {};
  readonly contentType = PROM_CONTENT_TYPE;

  setDefaultLabels(labels: Record<string, string>): void {
    this.defaults = { ...labels };
  }

  register(m: Metric): void {
    // A programming error (two modules register one name), caught by any test that starts the part.
    if (this.list.some((x) => x.name === m.name)) throw new Error(`metric ${m.name} registered twice`);
    this.list.push(m);
  }

  async metrics(): Promise<string> {
    const out: string[] = [];
    for (const m of this.list) {
      out.push(`# HELP ${m.name} ${escapeHelp(m.help)}`, `# TYPE ${m.name} ${m.type}`);
      let samples = (await m.read()).filter((s) => m.type === "gauge" || s.value > 0);
      // A metric without labels always has its one sample (0 until set), as prom-client wrote it.
      if (samples.length === 0 && m.labelNames.length === 0) samples = [{ value: 0 }];
      for (const s of samples) {
        const labels = { ...(s.labels ?? {}), ...this.defaults };
        const text = Object.entries(labels)
          .map(([k, v]) => `${k}="${escapeLabel(String(v))}"`)
          .join(",");
        out.push(`${m.name}${text ? `{${text}}` : ""} ${number(s.value)}`);
      }
    }
    return `${out.join("\n")}\n`;
  }
}

export function newRegistry(labels: Record<string, string> = {}): Registry {
  const r = new Registry();
  r.setDefaultLabels(labels);
  return r;
}

/** A gauge whose samples come from a function at scrape time. */
export function gaugeFrom(
  reg: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => Sample[] | Promise<Sample[]>,
): void {
  reg.register({ name: METRIC_PREFIX + name, help, type: "gauge", labelNames, read });
}

/**
 * A counter whose total is kept elsewhere (a monotonic figure such as link.stats.reconnects or a
 * row count); the callback returns the current totals. Prometheus' rate() handles restarts.
 */
export function counterFrom(
  reg: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => Sample[] | Promise<Sample[]>,
): void {
  reg.register({ name: METRIC_PREFIX + name, help, type: "counter", labelNames, read });
}

/**
 * Driver counters arrive through SourceContext.count as `name{json labels}` keys. Each metric
 * name becomes one Prometheus counter (`barnlink_<name>`), created on first sight.
 */
export function driverCounters(reg: Registry, events: () => Record<string, number>): () => void {
  const made = new Set<string>();
  return () => {
    const labelsByName = new Map<string, Set<string>>();
    for (const key of Object.keys(events())) {
      const i = key.indexOf("{");
      const name = sanitize(i < 0 ? key : key.slice(0, i));
      const set = labelsByName.get(name) ?? new Set<string>();
      if (i >= 0) for (const k of Object.keys(JSON.parse(key.slice(i)) as object)) set.add(sanitize(k));
      labelsByName.set(name, set);
    }
    for (const [name, labelNames] of labelsByName) {
      if (made.has(name)) continue;
      made.add(name);
      counterFrom(reg, name, `driver counter ${name} (SourceContext.count)`, [...labelNames], () =>
        current(events(), name),
      );
    }
  };
}

function current(events: Record<string, number>, name: string) {
  const out: Array<{ labels: Labels; value: number }> = [];
  for (const [key, value] of Object.entries(events)) {
    const i = key.indexOf("{");
    if (sanitize(i < 0 ? key : key.slice(0, i)) !== name) continue;
    const raw = i < 0 ? {} : (JSON.parse(key.slice(i)) as Record<string, string>);
    out.push({ labels: Object.fromEntries(Object.entries(raw).map(([k, v]) => [sanitize(k), v])), value });
  }
  return out;
}

const sanitize = (s: string) => s.replace(/[^a-zA-Z0-9_]/g, "_").replace(/^([0-9])/, "_$1");

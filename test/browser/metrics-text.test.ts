import { Counter, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { counterFrom, driverCounters, gaugeFrom, newRegistry } from "../../core/metrics.ts";
import { ProgressBar } from "../../core/progress.ts";
import { parsePrometheusText } from "../helpers/prom-text.ts";

describe("Prometheus text", () => {
  it("parses what prom-client writes, labels with escapes included", async () => {
    const reg = new Registry();
    const c = new Counter({ name: "x_total", help: "x", labelNames: ["a"], registers: [reg] });
    c.inc({ a: 'quo"te\\back\nline' }, 3);
    const p = parsePrometheusText(await reg.metrics());
    expect(p.types.get("x_total")).toBe("counter");
    expect(p.samples).toEqual([{ name: "x_total", labels: { a: 'quo"te\\back\nline' }, value: 3 }]);
  });

  it("rejects junk", () => {
    expect(() => parsePrometheusText("not a metric line at all {")).toThrow(/line 1/);
  });

  it("reads gauges, counters and driver counters at scrape time", async () => {
    const reg = newRegistry({ device: "d1" });
    let n = 1;
    counterFrom(reg, "things_total", "things", [], () => [{ value: n }]);
    gaugeFrom(reg, "level", "level", ["tank"], () => [{ labels: { tank: "a" }, value: n * 2 }]);
    const events: Record<string, number> = {
      'modbus_errors_total{"source":"rs485","unit":"1","kind":"timeout"}': 4,
    };
    const refresh = driverCounters(reg, () => events);
    n = 5;
    refresh();
    const p = parsePrometheusText(await reg.metrics());
    const v = (name: string) => p.samples.find((s) => s.name === name);
    expect(v("barnlink_things_total")).toMatchObject({ value: 5, labels: { device: "d1" } });
    expect(v("barnlink_level")).toMatchObject({ value: 10, labels: { tank: "a" } });
    expect(v("barnlink_modbus_errors_total")).toMatchObject({
      value: 4,
      labels: { source: "rs485", unit: "1", kind: "timeout" },
    });
  });
});

describe("ProgressBar", () => {
  const sink = (tty: boolean) => {
    const lines: string[] = [];
    return { lines, out: { isTTY: tty, write: (s: string) => lines.push(s) > 0 } };
  };
  it("prints one plain line per 10% when not a terminal", () => {
    const s = sink(false);
    const bar = new ProgressBar("drain", 100, s.out as never);
    for (let i = 0; i <= 100; i++) bar.update(i);
    expect(s.lines).toHaveLength(11);
    expect(s.lines.at(-1)).toBe("drain 100% (100/100) \n");
  });
  it("redraws one line on a terminal and ends it once", () => {
    const s = sink(true);
    const bar = new ProgressBar("drain", 10, s.out as never);
    bar.update(10);
    bar.end();
    expect(s.lines.filter((l) => l === "\n")).toHaveLength(1);
    expect(s.lines[0]).toMatch(/^\rdrain \[#{28}\] 10\/10/);
  });
});

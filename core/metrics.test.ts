import * as prom from "prom-client";
import { describe, expect, it } from "vitest";
import { parsePrometheusText } from "../test/helpers/prom-text.ts";
import { counterFrom, gaugeFrom, newRegistry } from "./metrics.ts";

/** core/metrics.ts writes the exposition text itself (core/ may not import prom-client): same figures. */
describe("core metrics registry", () => {
  it("writes what prom-client writes for the same gauges and counters", async () => {
    const ours = newRegistry({ device: "d1" });
    const theirs = new prom.Registry();
    theirs.setDefaultLabels({ device: "d1" });
    const samples = [
      { labels: { a: 'quo"te\\back\nline' }, value: 3 },
      { labels: { a: "x" }, value: 0 },
    ];
    gaugeFrom(ours, "g", "a gauge\nwith two lines", ["a"], () => samples);
    counterFrom(ours, "c_total", "a counter", ["a"], () => samples);
    counterFrom(ours, "zero_total", "never counted", [], () => []);
    gaugeFrom(ours, "plain", "no labels", [], () => [{ value: 7.5 }]);
    new prom.Gauge({
      name: "barnlink_g",
      help: "a gauge\nwith two lines",
      labelNames: ["a"],
      registers: [theirs],
      collect() {
        this.reset();
        for (const s of samples) this.set(s.labels, s.value);
      },
    });
    new prom.Counter({
      name: "barnlink_c_total",
      help: "a counter",
      labelNames: ["a"],
      registers: [theirs],
      collect() {
        this.reset();
        for (const s of samples) if (s.value > 0) this.inc(s.labels, s.value);
      },
    });
    new prom.Counter({ name: "barnlink_zero_total", help: "never counted", registers: [theirs] });
    const plain = new prom.Gauge({ name: "barnlink_plain", help: "no labels", registers: [theirs] });
    plain.set(7.5);
    const a = parsePrometheusText(await ours.metrics());
    const b = parsePrometheusText(await theirs.metrics());
    expect(a.samples).toEqual(b.samples);
    expect([...a.types]).toEqual([...b.types]);
    expect(() => gaugeFrom(ours, "g", "again", [], () => [])).toThrow(/twice/);
  });
});

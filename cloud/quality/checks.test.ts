import { describe, expect, it } from "vitest";
import { analyse } from "./analyse.ts";
import { siloEstimate } from "./silo-estimate.ts";
import { defaultParams, H, qualityInput, readingsOf, T0 } from "./test-input.ts";
import type { QRow, QualityInput } from "./types.ts";

const p = defaultParams;
let rng = 1;
const noise = (a: number) => {
  rng = (rng * 1103515245 + 12345) % 2147483648;
  return ((rng / 2147483648) * 2 - 1) * a;
};
const reading = (stream: string, seq: number, t: number, value: number, unit = "degC"): QRow => ({
  device: "gw1",
  stream,
  seq,
  kind: "reading",
  t,
  body: { value: Math.round(value * 10) / 10, unit },
});

const input = (rows: QRow[], extra: Partial<QualityInput> = {}): QualityInput =>
  qualityInput({ readings: readingsOf(rows), ...extra });
const temps = (f: (h: number) => number) =>
  Array.from({ length: 14 * 24 }, (_, h) => reading("env.temperature", h + 1, T0 + h * H, f(h)));
const checks = (q: QualityInput) => analyse(q, p).map((f) => f.check);

describe("evidence-quality checks", () => {
  it("a healthy noisy series gives no finding", () => {
    expect(checks(input(temps(() => 24 + noise(1))))).toEqual([]);
  });
  it("stuck: unchanged beyond the resolution for longer than stuckHours, unusable, cited", () => {
    const f = analyse(input(temps((h) => (h > 200 && h < 260 ? 23 : 24 + noise(1)))), p);
    const s = f.find((x) => x.check === "stuck")!;
    expect(s.unusable).toBe(true);
    expect(s.message).toMatch(/unchanged at 23\.[01]°C for \d+(\.\d)? h \(allowed 12 h\)/);
    expect(Number(s.figures.hours)).toBeGreaterThanOrEqual(58);
    expect(s.cites[0]!.count).toBeGreaterThan(50);
  });
  it("smooth: a generated sine with no jitter", () => {
    expect(
      checks(input(temps((h) => (h > 150 ? 24 + 3 * Math.sin(h / 4) + h / 100 : 24 + noise(1))))),
    ).toContain("smooth");
  });
  it("impossible: values out of range are a warning when few, unusable when many", () => {
    const few = analyse(input(temps((h) => (h === 200 ? 90 : 24 + noise(1)))), p).find(
      (x) => x.check === "impossible",
    );
    expect(few?.unusable).toBe(false);
    const many = analyse(input(temps((h) => (h > 200 && h % 3 === 0 ? 90 : 24 + noise(1)))), p).find(
      (x) => x.check === "impossible",
    );
    expect(many?.unusable).toBe(true);
  });
  it("replay-readings: a day of readings repeated a week later", () => {
    const base = Array.from({ length: 24 * 14 }, () => 24 + noise(1));
    const rows = temps((h) => (h >= 24 * 9 && h < 24 * 10 ? base[h - 24 * 7]! : base[h]!));
    const f = analyse(input(rows), p).find((x) => x.check === "replay-readings")!;
    expect(f.unusable).toBe(true);
    expect(f.figures.shiftHours).toBe(168);
  });
  it("census-vs-placed: above placed minus sales; a sale lowers what can be there", () => {
    const census = (seq: number, t: number, count: number): QRow => ({
      device: "gw1",
      stream: "census",
      seq,
      kind: "census",
      t,
      body: { barn: "barn1", count },
    });
    const sale: QRow = {
      device: "gw1",
      stream: "herd.events",
      seq: 1,
      kind: "event",
      t: T0 + 8 * 24 * H,
      body: { input: "sale", state: "sold", detail: { head: 3000 } },
    };
    const q = input([], { census: [census(1, T0 + 9 * 24 * H, 18_000)], herdEvents: [sale] });
    expect(checks(q)).toContain("census-vs-placed");
    expect(checks(input([], { census: [census(1, T0 + 9 * 24 * H, 16_900)], herdEvents: [sale] }))).toEqual(
      [],
    );
  });
  it("clock: records not yet placed are pending, not unusable", () => {
    const f = analyse(
      input([], {
        unplaced: [{ device: "gw1", stream: "env.temperature", count: 30, fromSeq: 5, toSeq: 34 }],
      }),
      p,
    );
    expect(f[0]).toMatchObject({ check: "clock", pending: true, unusable: false });
  });
  it("silo estimate: ±80 kg noise is filtered, deliveries kept, feed use near the truth", () => {
    const rows: QRow[] = [];
    let silo = 10_000;
    for (let h = 0; h < 7 * 24; h++) {
      silo -= 80;
      if (h === 50) silo += 5000;
      rows.push(reading("silo.weight", h + 1, T0 + h * H, silo + noise(80), "kg"));
    }
    const est = siloEstimate(rows, 25);
    expect(est.sigmaKg).toBeGreaterThan(20);
    expect(est.rises.length).toBe(1);
    // The filter spreads the step over a few hours of consumption: within the 10% gate (e) allows.
    expect(est.rises[0]!.kg).toBeGreaterThan(4400);
    expect(est.fallKg / (80 * (7 * 24 - 1))).toBeGreaterThan(0.9);
    expect(est.fallKg / (80 * (7 * 24 - 1))).toBeLessThan(1.1);
  });
});

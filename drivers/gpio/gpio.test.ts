import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RecordingContext } from "../../test/helpers/recording-context.ts";
import { resolveHeaderChip } from "./chip-base.ts";
import { gpioConfigSchema } from "./config.ts";
import { type OnoffCtor, onoffBinding } from "./onoff-binding.ts";
import { SimGpio } from "./sim-binding.ts";
import { GpioSource } from "./source.ts";

/** A fixture of /sys/class/gpio: the chips a kernel shows, by label and base. */
function sysfs(chips: Array<[string, string, number, number]>): string {
  const root = join(tmpdir(), `bl-gpio-${process.pid}-${Math.random().toString(36).slice(2)}`);
  for (const [name, label, base, ngpio] of chips) {
    mkdirSync(join(root, name), { recursive: true });
    writeFileSync(join(root, name, "label"), `${label}\n`);
    writeFileSync(join(root, name, "base"), `${base}\n`);
    writeFileSync(join(root, name, "ngpio"), `${ngpio}\n`);
  }
  return root;
}

describe("gpiochip base at run time", () => {
  it("Pi 4 on kernel ≥ 6.6: base 512; Pi 5: RP1 at 571 beside other chips; old kernel: 0", () => {
    expect(
      resolveHeaderChip(
        sysfs([
          ["gpiochip512", "pinctrl-bcm2711", 512, 58],
          ["gpiochip570", "raspberrypi-exp-gpio", 570, 8],
        ]),
      ).base,
    ).toBe(512);
    const pi5 = sysfs([
      ["gpiochip512", "gpio-brcmstb@107d508500", 512, 32],
      ["gpiochip544", "gpio-brcmstb@107d517c00", 544, 15],
      ["gpiochip571", "pinctrl-rp1", 571, 54],
    ]);
    expect(resolveHeaderChip(pi5).base).toBe(571);
    expect(resolveHeaderChip(sysfs([["gpiochip0", "pinctrl-bcm2835", 0, 54]])).base).toBe(0);
  });

  it("says what it found when no header chip is there, and when sysfs GPIO is missing", () => {
    expect(() => resolveHeaderChip(sysfs([["gpiochip0", "some-expander", 0, 8]]))).toThrow(
      /found: gpiochip0=some-expander@0/,
    );
    expect(() => resolveHeaderChip("/nonexistent/gpio")).toThrow(/no sysfs GPIO/);
  });

  it("the onoff adapter opens BCM 17 as sysfs 529 on a Pi 4 and BCM 27 as 598 on a Pi 5", async () => {
    const opened: Array<[number, string]> = [];
    const Fake = class {
      constructor(n: number, dir: string) {
        opened.push([n, dir]);
      }
      read = async () => 1 as const;
      write = async () => {};
      watch() {}
      unwatch() {}
      unexport() {}
    } as unknown as OnoffCtor;
    const pi4 = onoffBinding({ sysfsRoot: sysfs([["gpiochip512", "pinctrl-bcm2711", 512, 58]]), Gpio: Fake });
    const pi5 = onoffBinding({ sysfsRoot: sysfs([["gpiochip571", "pinctrl-rp1", 571, 54]]), Gpio: Fake });
    await pi4.input(17, { activeLow: true });
    await pi5.output(27, { activeLow: true, initial: 1 });
    expect(opened).toEqual([
      [529, "in"],
      [598, "low"],
    ]);
    await expect(pi5.input(60, { activeLow: false })).rejects.toThrow(/outside pinctrl-rp1/);
  });
});

describe("gpio source on the simulated backend", () => {
  it("reports the initial state, debounces a bouncing contact into one event, raises and clears the alarm", async () => {
    const sim = new SimGpio();
    const cfg = gpioConfigSchema.parse({
      driver: "gpio",
      name: "barn",
      backend: "sim",
      inputs: [
        { name: "door.main", line: 17, debounce: 40, states: ["closed", "open"] },
        { name: "leak", line: 22, debounce: 20, alarm: { severity: "critical" } },
        // A marker with the door's debounce: changed after a bounce, it settles after any event the
        // bounce could still cause, so "no further event" is shown by order, not by sleeping.
        { name: "marker", line: 23, debounce: 40 },
      ],
      outputs: [{ name: "relay", line: 27 }],
    });
    const src = new GpioSource(cfg, sim);
    const ctx = new RecordingContext();
    await src.start(ctx);
    try {
      expect(ctx.readings.map((r) => r.body)).toEqual([
        { input: "door.main", state: "closed", detail: { initial: true } },
        { input: "leak", state: false, detail: { initial: true } },
        { input: "marker", state: false, detail: { initial: true } },
      ]);
      const marked = (state: boolean) => () =>
        ctx.readings.some((r) => {
          const b = r.body as { input: string; state: unknown; detail?: unknown };
          return b.input === "marker" && b.state === state && b.detail === undefined;
        });
      for (const v of [1, 0, 1, 0, 1] as const) sim.set(17, v); // contact bounce
      await ctx.until(() => ctx.readings.length === 4, "one debounced event");
      sim.set(23, 1);
      await ctx.until(marked(true), "the marker after the bounce");
      expect(ctx.readings.slice(3).map((r) => r.body)).toEqual([
        { input: "door.main", state: "open" },
        { input: "marker", state: true },
      ]);
      sim.set(17, 1);
      sim.set(17, 0);
      sim.set(17, 1); // bounced back to the settled state: no event
      sim.set(23, 0);
      await ctx.until(marked(false), "the marker after the second bounce");
      expect(ctx.readings.slice(5).map((r) => r.body)).toEqual([{ input: "marker", state: false }]);
      sim.set(22, 1);
      await ctx.until(() => ctx.alarms.some((a) => a.active && a.severity === "critical"), "leak alarm");
      sim.set(22, 0);
      await ctx.until(() => ctx.alarms.some((a) => !a.active), "leak cleared");
      await src.set("relay", 1);
      expect(sim.outputs.get(27)).toBe(1);
    } finally {
      await src.stop();
    }
  });

  it("rejects two uses of one line and an empty config", () => {
    const r = gpioConfigSchema.safeParse({
      driver: "gpio",
      name: "x",
      inputs: [{ name: "a", line: 4 }],
      outputs: [{ name: "b", line: 4 }],
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["outputs", 0, "line"]);
    expect(gpioConfigSchema.safeParse({ driver: "gpio", name: "x" }).success).toBe(false);
  });
});

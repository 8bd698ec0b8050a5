import { ERR_DRIVER_UNAVAILABLE } from "../errors.ts";
import type { GpioBinding, GpioInputLine, GpioOutputLine } from "./binding.ts";
import { resolveHeaderChip, sysfsNumber } from "./chip-base.ts";

type Value = 0 | 1;
/** The subset of onoff's Gpio class we use (so a test can hand in its own). */
export interface OnoffGpio {
  read(): Promise<Value>;
  write(v: Value): Promise<void>;
  watch(cb: (err: Error | null | undefined, v: Value) => void): void;
  unwatch(cb?: (err: Error | null | undefined, v: Value) => void): void;
  unexport(): void;
}
export type OnoffCtor = new (
  gpio: number,
  direction: "in" | "out" | "high" | "low",
  edge?: "none" | "both",
  options?: { activeLow?: boolean },
) => OnoffGpio;

/**
 * GPIO through onoff (sysfs). BCM numbers are mapped to sysfs numbers with the chip base read from
 * `/sys/class/gpio/gpiochip*` at open time. onoff itself always uses /sys/class/gpio, so
 * `sysfsRoot` only moves where the base is read (tests use a fixture tree).
 */
export function onoffBinding(
  opts: { sysfsRoot?: string; chipLabel?: string; Gpio?: OnoffCtor } = {},
): GpioBinding {
  let ctor = opts.Gpio;
  const load = async (): Promise<OnoffCtor> => {
    if (ctor) return ctor;
    const mod = (await import("onoff")) as unknown as { Gpio: OnoffCtor & { accessible: boolean } };
    if (!mod.Gpio.accessible)
      throw ERR_DRIVER_UNAVAILABLE(
        "sysfs GPIO is not accessible here (not a Pi, or no access to /sys/class/gpio)",
      );
    ctor = mod.Gpio;
    return ctor;
  };
  const number = (bcm: number) => sysfsNumber(resolveHeaderChip(opts.sysfsRoot, opts.chipLabel), bcm);
  return {
    kind: "onoff",
    async input(bcm, { activeLow }): Promise<GpioInputLine> {
      const Gpio = await load();
      const g = new Gpio(number(bcm), "in", "both", { activeLow });
      return {
        read: () => g.read(),
        watch(listener) {
          const cb = (err: Error | null | undefined, v: Value) => {
            if (!err) listener(v);
          };
          g.watch(cb);
          return () => g.unwatch(cb);
        },
        async close() {
          g.unwatch();
          g.unexport();
        },
      };
    },
    async output(bcm, { activeLow, initial }): Promise<GpioOutputLine> {
      const Gpio = await load();
      // "high"/"low" set the level atomically with the direction (no glitch on a relay at start);
      // sysfs applies them to the raw level, so an active-low line inverts the logical initial.
      const g = new Gpio(number(bcm), (initial === 1) !== activeLow ? "high" : "low", "none", { activeLow });
      return {
        write: (v) => g.write(v),
        async close() {
          g.unexport();
        },
      };
    },
  };
}

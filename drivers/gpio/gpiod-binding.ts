import { type ChildProcess, execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { ERR_DRIVER_UNAVAILABLE } from "../errors.ts";
import type { GpioBinding, GpioInputLine, GpioOutputLine } from "./binding.ts";
import { HEADER_LABELS } from "./chip-base.ts";

const run = promisify(execFile);
type Value = 0 | 1;

export interface GpiodOptions {
  /** Label of the chip the BCM numbers belong to; found automatically on Pi 3/4/5 (HEADER_LABELS). */
  chipLabel?: string;
  /** Folder of the gpiod tools; default: found on PATH (Debian's `gpiod` package). */
  toolsDir?: string;
}

/**
 * GPIO through libgpiod's command-line tools (Debian's `gpiod` package: gpiodetect, gpioget,
 * gpioset, gpiomon) driven as child processes: the character-device interface (/dev/gpiochipN)
 * that replaces sysfs GPIO, with no native module to compile. Works with tools v1 (Debian 12,
 * Raspberry Pi OS bookworm) and v2 (trixie), whose options differ.
 *
 * A line requested by one process is busy for the others: while gpiomon watches an input, its
 * value is the one read at open time updated by every edge (not a new gpioget). An output is held
 * by a running gpioset; writing a new value restarts it with that value.
 */
export function gpiodBinding(opts: GpiodOptions = {}): GpioBinding {
  const tool = (name: string) => (opts.toolsDir ? join(opts.toolsDir, name) : name);
  let ready: Promise<{ v2: boolean; chip: string }> | undefined;
  const setup = () => {
    ready ??= (async () => {
      let version: string;
      try {
        version = (await run(tool("gpioget"), ["--version"])).stdout;
      } catch (e) {
        throw ERR_DRIVER_UNAVAILABLE(
          `libgpiod tools not found (${(e as Error).message.split("\n")[0]}): sudo apt install gpiod`,
        );
      }
      const v2 = /v(\d+)/.exec(version)?.[1] !== "1";
      const chips = (await run(tool("gpiodetect"), [])).stdout;
      return { v2, chip: headerChip(chips, opts.chipLabel) };
    })();
    return ready;
  };

  return {
    kind: "gpiod",
    async input(bcm, { activeLow }): Promise<GpioInputLine> {
      const { v2, chip } = await setup();
      const low = activeLow ? ["-l"] : [];
      const get = async (): Promise<Value> => {
        const args = v2 ? [...low, "--numeric", "-c", chip, String(bcm)] : [...low, chip, String(bcm)];
        const out = (await run(tool("gpioget"), args)).stdout.trim();
        if (out !== "0" && out !== "1")
          throw ERR_DRIVER_UNAVAILABLE(`gpioget ${chip} ${bcm} printed ${JSON.stringify(out)}`);
        return out === "1" ? 1 : 0;
      };
      let last: Value = await get();
      let mon: ChildProcess | undefined;
      const listeners = new Set<(v: Value) => void>();
      const startMonitor = () => {
        // %e: the edge. v1 prints 1 rising / 0 falling; v2 prints 1 rising / 2 falling.
        const args = v2
          ? [...low, "-c", chip, "-F", "%e", String(bcm)]
          : [...low, "-b", "-F", "%e", chip, String(bcm)];
        const p = spawn(tool("gpiomon"), args, { stdio: ["ignore", "pipe", "ignore"] });
        p.on("error", () => {});
        createInterface({ input: p.stdout! }).on("line", (line) => {
          const e = line.trim();
          if (e !== "0" && e !== "1" && e !== "2") return;
          last = e === "1" ? 1 : 0;
          for (const l of listeners) l(last);
        });
        mon = p;
      };
      const stopMonitor = () => {
        mon?.kill();
        mon = undefined;
      };
      return {
        read: async () => (mon ? last : get()),
        watch(listener) {
          listeners.add(listener);
          if (!mon) startMonitor();
          return () => {
            listeners.delete(listener);
            if (listeners.size === 0) stopMonitor();
          };
        },
        async close() {
          listeners.clear();
          stopMonitor();
        },
      };
    },
    async output(bcm, { activeLow, initial }): Promise<GpioOutputLine> {
      const { v2, chip } = await setup();
      let holder: ChildProcess | undefined;
      const hold = async (v: Value) => {
        const prev = holder;
        if (prev && prev.exitCode === null) {
          const gone = new Promise((r) => prev.once("exit", r));
          prev.kill();
          await gone;
        }
        const low = activeLow ? ["-l"] : [];
        // v1 exits at once (the line may revert) unless told to wait for a signal; v2 holds by default.
        const args = v2
          ? [...low, "-c", chip, `${bcm}=${v}`]
          : [...low, "--mode=signal", chip, `${bcm}=${v}`];
        const p = spawn(tool("gpioset"), args, { stdio: "ignore" });
        p.on("error", () => {});
        holder = p;
      };
      await hold(initial);
      return {
        write: (v) => hold(v),
        async close() {
          holder?.kill();
        },
      };
    },
  };
}

/** The gpiochip driving the 40-pin header, from gpiodetect's `gpiochip0 [pinctrl-bcm2711] (58 lines)`. */
export function headerChip(gpiodetect: string, label?: string): string {
  const chips = [...gpiodetect.matchAll(/^(gpiochip\d+)\s+\[([^\]]*)\]/gm)].map((m) => ({
    name: m[1]!,
    label: m[2]!,
  }));
  for (const l of label ? [label] : HEADER_LABELS) {
    const hit = chips.find((c) => c.label === l);
    if (hit) return hit.name;
  }
  const seen = chips.map((c) => `${c.name}=${c.label}`).join(", ") || "none";
  throw ERR_DRIVER_UNAVAILABLE(
    `no GPIO chip labelled ${(label ? [label] : HEADER_LABELS).join(" or ")} (gpiodetect: ${seen}); set chipLabel`,
  );
}

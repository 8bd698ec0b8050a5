import { ERR_NOT_FOUND } from "../../core/errors.ts";
import type { ProbeResult, Source, SourceContext } from "../types.ts";
import type { GpioBinding, GpioInputLine, GpioOutputLine } from "./binding.ts";
import { resolveHeaderChip } from "./chip-base.ts";
import type { GpioConfig } from "./config.ts";
import { gpiodBinding } from "./gpiod-binding.ts";
import { onoffBinding } from "./onoff-binding.ts";
import { SimGpio } from "./sim-binding.ts";

type Input = GpioConfig["inputs"][number];

/**
 * Dry contacts and relays. Inputs are debounced here, not in the backend, so every backend (sysfs,
 * libgpiod, simulated) behaves alike; each settled change is an `event` record (evidence class).
 */
export class GpioSource implements Source {
  readonly name: string;
  readonly binding: GpioBinding;
  private readonly inputs = new Map<string, GpioInputLine>();
  private readonly outputs = new Map<string, GpioOutputLine>();
  private readonly cleanups: Array<() => void> = [];

  constructor(
    private readonly cfg: GpioConfig,
    binding?: GpioBinding,
  ) {
    this.name = cfg.name;
    this.binding = binding ?? pickBinding(cfg);
  }

  async start(ctx: SourceContext): Promise<void> {
    for (const o of this.cfg.outputs) {
      this.outputs.set(
        o.name,
        await this.binding.output(o.line, { activeLow: o.activeLow, initial: o.initial }),
      );
    }
    for (const input of this.cfg.inputs) {
      const line = await this.binding.input(input.line, { activeLow: input.activeLow });
      this.inputs.set(input.name, line);
      let settled = await line.read();
      this.report(input, settled, ctx, true);
      let timer: NodeJS.Timeout | undefined;
      const unwatch = line.watch(() => {
        ctx.count("gpio_edges_total", { source: this.name, input: input.name });
        clearTimeout(timer);
        timer = setTimeout(async () => {
          const v = await line.read().catch(() => settled);
          if (v === settled) return; // a bounce that came back: not a change
          settled = v;
          this.report(input, v, ctx, false);
        }, input.debounce);
      });
      this.cleanups.push(() => {
        clearTimeout(timer);
        unwatch();
      });
    }
  }

  private report(input: Input, v: 0 | 1, ctx: SourceContext, initial: boolean): void {
    const state = input.states ? input.states[v] : v === 1;
    ctx.emit([
      {
        stream: input.name,
        kind: "event",
        t: ctx.clock.now(),
        body: { input: input.name, state, ...(initial ? { detail: { initial: true } } : {}) },
      },
    ]);
    if (input.alarm && (v === 1 || !initial)) {
      const subject = `${this.name}/${input.name}`;
      const message =
        v === 1 ? (input.alarm.message ?? `${input.name} is active`) : `${input.name} is back to normal`;
      ctx.alarm({
        code: "gpio.input_active",
        severity: input.alarm.severity,
        subject,
        active: v === 1,
        message,
      });
    }
  }

  /** Drives an output (alarm relay, status LED) by name; 1 = on (after activeLow). */
  async set(output: string, value: 0 | 1): Promise<void> {
    const o = this.outputs.get(output);
    if (!o) throw ERR_NOT_FOUND(`no GPIO output named ${output} in source ${this.name}`);
    await o.write(value);
  }

  async stop(): Promise<void> {
    for (const c of this.cleanups.splice(0)) c();
    for (const l of [...this.inputs.values(), ...this.outputs.values()]) await l.close().catch(() => {});
    this.inputs.clear();
    this.outputs.clear();
  }

  async probe(): Promise<ProbeResult[]> {
    const out: ProbeResult[] = [];
    for (const input of this.cfg.inputs) {
      const subject = `${this.name}/${input.name} (BCM ${input.line})`;
      try {
        const line = await this.binding.input(input.line, { activeLow: input.activeLow });
        const v = await line.read();
        await line.close();
        out.push({ subject, ok: true, values: { [input.name]: input.states ? input.states[v] : v === 1 } });
      } catch (e) {
        out.push({ subject, ok: false, error: (e as Error).message });
      }
    }
    return out;
  }
}

/**
 * The backend a config asks for; `auto` keeps sysfs (onoff) where the kernel still offers the
 * header chip there and otherwise uses libgpiod's tools: Raspberry Pi OS is dropping sysfs GPIO
 * and onoff has no other backend (Pi 5 interrupts through sysfs are unreliable).
 */
export function pickBinding(cfg: GpioConfig): GpioBinding {
  const gpiod = () => gpiodBinding({ chipLabel: cfg.chipLabel, toolsDir: cfg.gpiodTools });
  const onoff = () => onoffBinding({ sysfsRoot: cfg.sysfsRoot, chipLabel: cfg.chipLabel });
  if (cfg.backend === "sim") return new SimGpio();
  if (cfg.backend === "onoff") return onoff();
  if (cfg.backend === "gpiod") return gpiod();
  try {
    resolveHeaderChip(cfg.sysfsRoot, cfg.chipLabel);
    return onoff();
  } catch {
    return gpiod();
  }
}

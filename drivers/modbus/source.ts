import { setMaxListeners } from "node:events";
import type { CaptureTime } from "../../core/clock.ts";
import type { ProbeResult, Reading, Source, SourceContext } from "../types.ts";
import { ModbusBus } from "./bus.ts";
import { decodeWords, scaled } from "./codec.ts";
import type { DeviceConfig, ModbusConfig } from "./config.ts";
import { type ModbusLink, modbusSerialLink, target } from "./link.ts";
import { type Block, deviceRegisters, planBlocks } from "./plan.ts";
import { sleeper } from "./sleeper.ts";

interface DevicePlan {
  device: DeviceConfig;
  blocks: Block[];
}

/** One block's decoded values, stamped when its request went out. */
interface Sample {
  t: CaptureTime;
  points: Array<{ sensor: string; value: number; unit: string }>;
}

interface PollResult {
  samples: Sample[];
  /** The device answered something (values or an exception): it is on the bus. */
  alive: boolean;
  errors: string[];
}

/** Polls every device of one Modbus bus; faults are counted per device and never stop the source. */
export class ModbusSource implements Source {
  readonly name: string;
  private readonly plans: DevicePlan[];
  private bus: ModbusBus | undefined;
  private loops: Promise<void>[] = [];
  private readonly abort = new AbortController();
  /** Between polls: one abort listener for every wait (sleeper.ts), not one per poll. */
  private readonly pause = sleeper(this.abort.signal);
  private readonly offline = new Set<string>();
  private lastRecycle = -Infinity;

  constructor(
    private readonly cfg: ModbusConfig,
    private readonly makeLink: (cfg: ModbusConfig) => ModbusLink = modbusSerialLink,
  ) {
    this.name = cfg.name;
    this.plans = cfg.devices.map((device) => ({ device, blocks: planBlocks(deviceRegisters(device)) }));
    // Every device loop waits on this signal at once (its poll interval, the bus's readiness): more
    // than 10 devices on a bus is normal, not the listener leak Node's default limit warns about.
    setMaxListeners(this.plans.length * 2 + 10, this.abort.signal);
  }

  private openBus(ctx: Pick<SourceContext, "log"> & Partial<SourceContext>): ModbusBus {
    const deviceOf = new Map(this.cfg.devices.map((d) => [d.unit, d.name]));
    const labels = (unit: number) => ({ source: this.name, device: deviceOf.get(unit) ?? String(unit) });
    const bus = new ModbusBus(() => this.makeLink(this.cfg), {
      ...this.cfg,
      log: ctx.log,
      onFault: (kind, unit) => ctx.count?.("modbus_errors_total", { ...labels(unit), kind }),
      onRetry: (unit) => ctx.count?.("modbus_retries_total", labels(unit)),
      onLink: (up, detail) => {
        ctx.count?.("modbus_link_changes_total", { source: this.name, state: up ? "up" : "down" });
        ctx.log.info({ source: this.name, target: target(this.cfg), up, detail }, "modbus link");
      },
    });
    bus.start();
    return bus;
  }

  async start(ctx: SourceContext): Promise<void> {
    this.bus = this.openBus(ctx);
    ctx.signal.addEventListener("abort", () => this.abort.abort(), { once: true });
    this.loops = this.plans.map((p) => this.deviceLoop(p, ctx));
  }

  /** Each device on its own schedule; a silent one costs the bus its timeouts but blocks nobody. */
  private async deviceLoop(plan: DevicePlan, ctx: SourceContext): Promise<void> {
    const { device } = plan;
    const subject = `${this.name}/${device.name}`;
    let failures = 0;
    let offline = false;
    // A device is not "offline" because the port is still opening at start-up.
    await this.bus!.ready(Math.max(5000, this.cfg.timeout * 4), this.abort.signal);
    while (!this.abort.signal.aborted) {
      const t0 = ctx.clock.mono();
      // An offline device gets one try per poll, not retries: less bus time lost to it.
      // Each block is stored as soon as it is decoded: not after the device's other blocks, nor
      // after the bus's inter-frame silence (a kill -9 then loses at most the block being read).
      const r = await this.poll(plan, ctx, offline ? 0 : undefined, (sample) => {
        if (!this.abort.signal.aborted) ctx.emit(this.records(plan.device, sample));
      });
      if (this.abort.signal.aborted) break;
      if (r.alive) {
        failures = 0;
        if (offline) {
          offline = false;
          this.offline.delete(device.name);
          ctx.alarm({
            code: "modbus.device_offline",
            severity: "warning",
            subject,
            active: false,
            message: `${subject} answers again`,
          });
        }
      } else if (++failures >= this.cfg.offlineAfter && !offline) {
        offline = true;
        this.offline.add(device.name);
        const message = `${subject} (unit ${device.unit} on ${target(this.cfg)}) has not answered ${failures} polls: ${r.errors[0] ?? ""}`;
        ctx.alarm({
          code: "modbus.device_offline",
          severity: "warning",
          subject,
          active: true,
          message,
          detail: { errors: r.errors },
        });
      }
      if (offline) this.maybeRecycle(ctx);
      await this.pause(Math.max(0, device.interval - (ctx.clock.mono() - t0)));
    }
  }

  /**
   * Every device silent while the port is "open": a USB adapter can hang without closing (or a TCP
   * gateway half-open). Reopen the link, at most once per reconnectMax, as an unplug would.
   */
  private maybeRecycle(ctx: SourceContext): void {
    const now = ctx.clock.mono();
    if (
      this.offline.size < this.plans.length ||
      !this.bus?.up ||
      now - this.lastRecycle < this.cfg.reconnectMax
    )
      return;
    this.lastRecycle = now;
    ctx.count("modbus_link_recycles_total", { source: this.name });
    ctx.log.warn({ source: this.name }, "every device silent: reopening the link");
    this.bus.recycle();
  }

  /** A block's values as records: one `block` on the device's stream, or one `reading` per sensor. */
  private records(device: DeviceConfig, s: Sample): Reading[] {
    if (this.cfg.records === "reading")
      return s.points.map((p) => ({
        stream: p.sensor,
        kind: "reading",
        t: s.t,
        body: { value: p.value, unit: p.unit },
      }));
    const values: Record<string, number> = {};
    const units: Record<string, string> = {};
    for (const p of s.points) {
      values[p.sensor] = p.value;
      if (p.unit) units[p.sensor] = p.unit;
    }
    const body = Object.keys(units).length > 0 ? { values, units } : { values };
    return [{ stream: device.stream ?? `${this.name}.${device.name}`, kind: "block", t: s.t, body }];
  }

  private async poll(
    plan: DevicePlan,
    ctx: Pick<SourceContext, "clock" | "log">,
    retries?: number,
    onSample?: (s: Sample) => void,
  ): Promise<PollResult> {
    const out: PollResult = { samples: [], alive: false, errors: [] };
    const bus = this.bus!;
    for (const b of plan.blocks) {
      try {
        // Capture time = when the request went out (the last attempt's), like Node-RED's msg time.
        let t: CaptureTime | undefined;
        const words = await bus.read(plan.device.unit, b.table, b.address, b.count, retries, () => {
          t = ctx.clock.now();
        });
        out.alive = true;
        const sample: Sample = {
          t: t ?? ctx.clock.now(),
          points: b.points.map((p) => ({
            sensor: p.sensor,
            value: scaled(decodeWords(words, p, p.address - b.address), p),
            unit: p.unit,
          })),
        };
        out.samples.push(sample);
        onSample?.(sample);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === "BL_MODBUS_EXCEPTION") out.alive = true;
        out.errors.push(`${b.table} ${b.address}+${b.count}: ${(e as Error).message}`);
      }
    }
    return out;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
    await this.bus?.stop();
  }

  /** Reads every device once and reports values or the precise error (for installers). */
  async probe(ctx: Pick<SourceContext, "clock" | "log">): Promise<ProbeResult[]> {
    const bus = this.openBus({ log: ctx.log });
    this.bus = bus;
    await bus.ready(Math.max(2000, this.cfg.timeout * 4));
    try {
      const results: ProbeResult[] = [];
      for (const plan of this.plans) {
        const subject = `${this.name}/${plan.device.name} (unit ${plan.device.unit} @ ${target(this.cfg)})`;
        const r = await this.poll(plan, ctx);
        const values = Object.fromEntries(
          r.samples
            .flatMap((x) => x.points)
            .map((p) => [p.sensor, p.unit ? `${p.value} ${p.unit}` : p.value]),
        );
        const ok = r.errors.length === 0;
        results.push({ subject, ok, values, ...(ok ? {} : { error: explain(r.errors) }) });
      }
      return results;
    } finally {
      await bus.stop();
    }
  }
}

/** Adds the installer's next step to the raw error. */
function explain(errors: string[]): string {
  const text = errors.join("; ");
  if (/timeout/.test(text)) return `${text} — check A/B wiring, unit id, baud rate/parity, termination`;
  if (/CRC/.test(text))
    return `${text} — noise or wrong baud/parity: check termination, cable shield, ground`;
  if (/illegal data address|exception 2/i.test(text))
    return `${text} — register not on this device: check the register map`;
  return text;
}

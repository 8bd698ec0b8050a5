import { ReadlineParser } from "@serialport/parser-readline";
import { SerialPort } from "serialport";
import { Backoff, sleep } from "../common/backoff.ts";
import type { ProbeResult, Reading, Source, SourceContext } from "../types.ts";
import type { LineConfig } from "./config.ts";
import { parseLine } from "./parse.ts";

/** Reads a serial device that prints JSON or key=value lines; reopens it when it is unplugged. */
export class LineSource implements Source {
  readonly name: string;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private port: SerialPort | undefined;
  private lastGood = 0;
  /** When the current port opened, and how to give it up (a port on a vanished device may never close). */
  private openedAt = 0;
  private giveUp: ((why: string) => void) | undefined;
  private lastEmit = new Map<string, number>();

  constructor(private readonly cfg: LineConfig) {
    this.name = cfg.name;
  }

  async start(ctx: SourceContext): Promise<void> {
    ctx.signal.addEventListener("abort", () => this.abort.abort(), { once: true });
    this.lastGood = ctx.clock.mono();
    this.loop = this.run(ctx);
  }

  /** Turns one line into readings (or undefined for a garbled line). */
  toReadings(line: string, ctx: Pick<SourceContext, "clock">): Reading[] | undefined {
    const values = parseLine(line, this.cfg.format);
    if (!values) return undefined;
    const t = ctx.clock.now();
    const out: Reading[] = [];
    const fields =
      this.cfg.fields.length > 0
        ? this.cfg.fields
        : Object.keys(values).map((key) => ({
            key,
            sensor: this.cfg.prefix + key,
            unit: "",
            scale: 1,
            offset: 0,
          }));
    for (const f of fields) {
      const v = values[f.key];
      if (v === undefined) continue;
      out.push({
        stream: f.sensor,
        kind: "reading",
        t,
        body: { value: Number((v * f.scale + f.offset).toPrecision(12)), unit: f.unit },
      });
    }
    return out;
  }

  private async run(ctx: SourceContext): Promise<void> {
    const backoff = new Backoff(this.cfg.reconnectMin, this.cfg.reconnectMax);
    const subject = `${this.name} (${this.cfg.port})`;
    let offline = false;
    const setOffline = (on: boolean, why: string) => {
      if (on === offline) return;
      offline = on;
      ctx.alarm({
        code: "line.offline",
        severity: "warning",
        subject,
        active: on,
        message: on ? `${subject}: ${why}` : `${subject}: lines again`,
      });
    };
    const watchdog = setInterval(
      () => {
        const now = ctx.clock.mono();
        if (now - this.lastGood <= this.cfg.staleAfter) return;
        setOffline(true, `no valid line for ${this.cfg.staleAfter} ms`);
        // A port whose device vanished does not always report it (a USB adapter half gone, a pty
        // whose other end died): silent for staleAfter since it opened, it is closed and reopened.
        if (now - Math.max(this.lastGood, this.openedAt) > this.cfg.staleAfter)
          this.giveUp?.(`silent for ${this.cfg.staleAfter} ms`);
      },
      Math.max(50, Math.min(5000, this.cfg.staleAfter / 4)),
    );
    try {
      while (!this.abort.signal.aborted) {
        const closed = await this.openOnce(ctx, (readings) => {
          this.lastGood = ctx.clock.mono();
          backoff.reset();
          setOffline(false, "");
          const due = readings.filter((r) => this.due(r.stream, ctx.clock.mono()));
          if (due.length > 0) ctx.emit(due);
        });
        if (this.abort.signal.aborted) break;
        ctx.count("line_reconnects_total", { source: this.name });
        ctx.log.warn({ source: this.name, reason: closed }, "serial line closed; reopening");
        await sleep(backoff.next(), this.abort.signal);
      }
    } finally {
      clearInterval(watchdog);
    }
  }

  private due(stream: string, now: number): boolean {
    if (this.cfg.minInterval <= 0) return true;
    const last = this.lastEmit.get(stream);
    if (last !== undefined && now - last < this.cfg.minInterval) return false;
    this.lastEmit.set(stream, now);
    return true;
  }

  /** Opens the port and reads until it closes; resolves with why. A new SerialPort each time. */
  private openOnce(ctx: SourceContext, onReadings: (r: Reading[]) => void): Promise<string> {
    return new Promise((resolve) => {
      const port = new SerialPort({ path: this.cfg.port, baudRate: this.cfg.baudRate, autoOpen: false });
      this.port = port;
      let done = false;
      const finish = (why: string) => {
        if (done) return;
        done = true;
        this.abort.signal.removeEventListener("abort", onAbort);
        this.giveUp = undefined;
        if (port.isOpen) {
          // A port on a vanished device may never confirm its close: do not wait for ever.
          const t = setTimeout(() => resolve(why), 1000);
          port.close(() => {
            clearTimeout(t);
            resolve(why);
          });
        } else resolve(why);
      };
      const onAbort = () => finish("stopped");
      this.abort.signal.addEventListener("abort", onAbort, { once: true });
      port.open((err) => {
        if (err) return finish(`cannot open: ${err.message}`);
        this.openedAt = ctx.clock.mono();
        this.giveUp = finish;
        const lines = port.pipe(new ReadlineParser({ delimiter: "\n" }));
        lines.on("data", (line: string) => {
          const r = this.toReadings(line, ctx);
          if (!r) ctx.count("line_errors_total", { source: this.name, kind: "parse" });
          else onReadings(r);
        });
      });
      port.on("error", (e) => finish(e.message));
      port.on("close", () => finish("closed"));
    });
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  /** Waits for one valid line (up to max(staleAfter, 5 s)) and shows what it carried. */
  async probe(ctx: Pick<SourceContext, "clock" | "log">): Promise<ProbeResult[]> {
    const subject = `${this.name} (${this.cfg.port})`;
    const waitMs = Math.min(Math.max(this.cfg.staleAfter, 5000), 30_000);
    const got = await new Promise<Reading[] | string>((resolve) => {
      const t = setTimeout(() => {
        this.abort.abort();
        resolve(
          `no valid line in ${waitMs} ms: check baud rate, TX→RX wiring, and that the device prints lines`,
        );
      }, waitMs);
      const fake = {
        ...ctx,
        emit: () => {},
        alarm: () => {},
        count: () => {},
        signal: this.abort.signal,
      } as SourceContext;
      void this.openOnce(fake, (r) => {
        clearTimeout(t);
        this.abort.abort();
        resolve(r);
      }).then((why) => {
        clearTimeout(t);
        resolve(why);
      });
    });
    if (typeof got === "string") return [{ subject, ok: false, error: got }];
    const values = Object.fromEntries(got.map((r) => [r.stream, (r.body as { value: number }).value]));
    return [{ subject, ok: true, values }];
  }
}

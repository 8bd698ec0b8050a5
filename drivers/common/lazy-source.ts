import type { ProbeResult, Source, SourceContext } from "../types.ts";

/**
 * A Source whose implementation is imported when it first starts (or probes). The registry lists
 * every driver's config schema, but a driver's packages (modbus-serial, serialport, sharp) load
 * only on a gateway that configures it: `barnlink agent` with a sim-barn loads none of them
 * (test/e2e/agent-loads.test.ts). Sources start one after the other and camera consumers wait for
 * their camera in the hub (CameraHub.when), so starting later changes no order.
 */
export class LazySource implements Source {
  private inner?: Source;
  private loading?: Promise<Source>;
  constructor(
    readonly name: string,
    private readonly make: () => Promise<Source>,
  ) {}

  /** The real source (imported and constructed on first use). */
  load(): Promise<Source> {
    this.loading ??= this.make().then((s) => {
      this.inner = s;
      return s;
    });
    return this.loading;
  }

  private stopped = false;
  private starting?: Promise<void>;

  async start(ctx: SourceContext): Promise<void> {
    this.starting = this.load().then((s) => (this.stopped ? undefined : s.start(ctx)));
    await this.starting;
  }

  /** Stops the real source, also one still being imported or started (it never starts after this). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.starting?.catch(() => {});
    await this.inner?.stop();
  }

  async probe(ctx: Pick<SourceContext, "clock" | "log">): Promise<ProbeResult[]> {
    const s = await this.load();
    if (s.probe) return s.probe(ctx);
    return [
      { subject: this.name, ok: false, error: "this driver has no probe; start the agent and watch its log" },
    ];
  }

  /** The real source's answer as it gives it (a refusal it throws stays a throw). */
  command(name: string, args: Record<string, unknown>): boolean | Promise<boolean> {
    return this.inner?.command ? this.inner.command(name, args) : false;
  }
}

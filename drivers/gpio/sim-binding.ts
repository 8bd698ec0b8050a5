import type { GpioBinding, GpioInputLine, GpioOutputLine } from "./binding.ts";

/**
 * Simulated GPIO lines for the demo and tests: `set()` plays a contact closing (with bounce if you
 * call it in a burst); outputs are kept for inspection.
 */
export class SimGpio implements GpioBinding {
  readonly kind = "sim";
  private readonly levels = new Map<number, 0 | 1>();
  private readonly watchers = new Map<number, Set<(v: 0 | 1) => void>>();
  readonly outputs = new Map<number, 0 | 1>();

  /** Sets the logical value of an input line (after active-low), firing its watchers. */
  set(bcm: number, value: 0 | 1): void {
    this.levels.set(bcm, value);
    for (const w of this.watchers.get(bcm) ?? []) w(value);
  }

  async input(bcm: number): Promise<GpioInputLine> {
    return {
      read: async () => this.levels.get(bcm) ?? 0,
      watch: (listener) => {
        const set = this.watchers.get(bcm) ?? new Set();
        set.add(listener);
        this.watchers.set(bcm, set);
        return () => set.delete(listener);
      },
      close: async () => {
        this.watchers.delete(bcm);
      },
    };
  }

  async output(bcm: number, opts: { initial: 0 | 1 }): Promise<GpioOutputLine> {
    this.outputs.set(bcm, opts.initial);
    return {
      write: async (v) => {
        this.outputs.set(bcm, v);
      },
      close: async () => {},
    };
  }
}

/**
 * The whole contract with GPIO hardware (after node-serialport's BindingInterface): open a line as
 * input or output by BCM number; read, watch, write, close. onoff (sysfs), gpiod (libgpiod's tools:
 * sysfs GPIO is going away, onoff#206) and the simulator implement it.
 */
export interface GpioInputLine {
  read(): Promise<0 | 1>;
  /** Called on every raw edge; the driver debounces. Returns an unwatch function. */
  watch(listener: (value: 0 | 1) => void): () => void;
  close(): Promise<void>;
}

export interface GpioOutputLine {
  write(value: 0 | 1): Promise<void>;
  close(): Promise<void>;
}

export interface GpioBinding {
  readonly kind: string;
  /** `bcm` is the BCM line number printed on Pi pinouts, never a sysfs number. */
  input(bcm: number, opts: { activeLow: boolean }): Promise<GpioInputLine>;
  output(bcm: number, opts: { activeLow: boolean; initial: 0 | 1 }): Promise<GpioOutputLine>;
}

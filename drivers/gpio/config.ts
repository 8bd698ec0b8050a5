import { z } from "zod";
import { duration, ident } from "../../core/zod-helpers.ts";

const name = () => z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "use letters, digits, '.', '_' or '-'");
/** BCM line numbers as printed on Pi pinouts (GPIO17 = physical pin 11), not sysfs numbers. */
const bcm = () => z.number().int().min(0).max(57);

const input = z.strictObject({
  /** Stream of its events, e.g. "door.main", "leak.drinker", "tamper", "dock". */
  name: name(),
  line: bcm(),
  /** A dry contact to ground with the pull-up on reads 0 when closed: activeLow makes closed = 1. */
  activeLow: z.boolean().default(false),
  /** Contacts bounce for a few ms; a change must hold this long to count. */
  debounce: duration().default(50),
  /** Names for the two states, e.g. [closed, open]; without them the state is true/false. */
  states: z.tuple([z.string().max(64), z.string().max(64)]).optional(),
  /** Raise an alarm while the input is 1 (a water leak, an opened enclosure). */
  alarm: z
    .strictObject({
      severity: z.enum(["info", "warning", "critical"]).default("warning"),
      message: z.string().max(500).optional(),
    })
    .optional(),
});

const output = z.strictObject({
  name: name(),
  line: bcm(),
  activeLow: z.boolean().default(false),
  initial: z.union([z.literal(0), z.literal(1)]).default(0),
});

export const gpioConfigSchema = z
  .strictObject({
    driver: z.literal("gpio"),
    name: ident(),
    /**
     * auto = sysfs (onoff) where the kernel still has it, else libgpiod's tools (gpiod);
     * onoff = sysfs; gpiod = the gpiod tools (/dev/gpiochipN); sim = simulated lines (demo, tests).
     */
    backend: z.enum(["auto", "onoff", "gpiod", "sim"]).default("auto"),
    /** gpiod: the folder of gpioget/gpioset/gpiomon/gpiodetect (default: PATH). */
    gpiodTools: z.string().optional(),
    /** Label of the gpiochip the BCM numbers belong to; found automatically on Pi 3/4/5. */
    chipLabel: z.string().optional(),
    /** Directory holding the gpiochipN folders whose label and base are read (a fixture tree in tests). */
    sysfsRoot: z.string().default("/sys/class/gpio"),
    inputs: z.array(input).default([]),
    outputs: z.array(output).default([]),
  })
  .superRefine((c, ctx) => {
    const used = new Map<number, string>();
    [
      ...c.inputs.map((x, i) => ["inputs", i, x] as const),
      ...c.outputs.map((x, i) => ["outputs", i, x] as const),
    ].forEach(([list, i, x]) => {
      const other = used.get(x.line);
      if (other)
        ctx.addIssue({
          code: "custom",
          path: [list, i, "line"],
          message: `BCM ${x.line} is already used by ${other}`,
        });
      used.set(x.line, `${list}[${i}]`);
    });
    if (c.inputs.length + c.outputs.length === 0)
      ctx.addIssue({ code: "custom", path: ["inputs"], message: "configure at least one input or output" });
  });
export type GpioConfig = z.output<typeof gpioConfigSchema>;

import { z } from "zod";
import { duration, ident } from "../../core/zod-helpers.ts";
import { presetNames, presets } from "../presets/index.ts";

/** Register tables by their Modbus function code (Modbus Application Protocol V1.1b3 §6.1–6.4). */
export const TABLES = { coil: 1, discrete: 2, holding: 3, input: 4 } as const;
export type Table = keyof typeof TABLES;

export const TYPES = ["bool", "int16", "uint16", "int32", "uint32", "float32"] as const;
export type DataType = (typeof TYPES)[number];

/** Words (16-bit registers) a value occupies. */
export const wordsOf = (t: DataType): number => (t === "int32" || t === "uint32" || t === "float32" ? 2 : 1);

export const registerSchema = z
  .strictObject({
    /** Stream name of the reading, e.g. "env.temperature". */
    sensor: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "use letters, digits, '.', '_' or '-'"),
    table: z.enum(["coil", "discrete", "holding", "input"]),
    /** Zero-based protocol address (register 40001 in a manual is holding address 0). */
    address: z.number().int().min(0).max(65535),
    type: z.enum(TYPES).default("uint16"),
    /** Order of the two words of a 32-bit value: "big" = high word first (the spec's own order). */
    wordOrder: z.enum(["big", "little"]).default("big"),
    /** Byte order inside each word: the spec sends big-endian (§4.2); some devices swap. */
    byteOrder: z.enum(["big", "little"]).default("big"),
    /** For bool on a holding/input register: the bit to test (0 = least significant). */
    bit: z.number().int().min(0).max(15).optional(),
    scale: z.number().refine(Number.isFinite, "must be finite").default(1),
    offset: z.number().refine(Number.isFinite, "must be finite").default(0),
    unit: z.string().max(16).default(""),
  })
  .superRefine((r, ctx) => {
    const bitTable = r.table === "coil" || r.table === "discrete";
    if (bitTable && r.type !== "bool") {
      ctx.addIssue({ code: "custom", path: ["type"], message: `a ${r.table} holds one bit: use type bool` });
    }
    if (r.bit !== undefined && (bitTable || r.type !== "bool")) {
      ctx.addIssue({
        code: "custom",
        path: ["bit"],
        message: "bit applies only to type bool on a holding/input register",
      });
    }
    if (r.address + wordsOf(r.type) - 1 > 65535) {
      ctx.addIssue({ code: "custom", path: ["address"], message: "value runs past address 65535" });
    }
  });
export type RegisterSpec = z.output<typeof registerSchema>;
export type RegisterInput = z.input<typeof registerSchema>;

export const deviceSchema = z
  .strictObject({
    name: ident(),
    /** Unit (slave) id: 1–247 on a serial line (Modbus over Serial Line V1.02 §2.2); 0 is broadcast. */
    unit: z.number().int().min(1).max(247),
    interval: duration().default(10_000),
    /** Register map from drivers/presets/ (an example to adapt); `registers` add to it. */
    preset: z
      .string()
      .refine((p) => presetNames().includes(p), {
        message: `unknown preset (one of: ${presetNames().join(", ")})`,
      })
      .optional(),
    /** Prepended to every sensor name ("barn1." + "env.temperature"). */
    prefix: z.string().max(32).default(""),
    /**
     * records: block — the stream this device's blocks go to (default "<source>.<device>"); devices
     * given the same stream share one (a group).
     */
    stream: z
      .string()
      .max(64)
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "use letters, digits, '.', '_' or '-'")
      .optional(),
    registers: z.array(registerSchema).default([]),
  })
  .refine((d) => d.preset !== undefined || d.registers.length > 0, {
    message: "give registers or a preset",
    path: ["registers"],
  });
export type DeviceConfig = z.output<typeof deviceSchema>;

const common = {
  name: ident(),
  /** Per-request timeout; modbus-serial has none by default, so a silent device would hang forever. */
  timeout: duration().default(500),
  retries: z.number().int().min(0).max(5).default(1),
  /** Quiet time between frames on the bus: at least 3.5 character times (Serial Line V1.02 §2.5.1.1). */
  gap: duration().default(20),
  /** Consecutive failed polls before a device-offline alarm. */
  offlineAfter: z.number().int().min(1).default(3),
  reconnectMin: duration().default(500),
  reconnectMax: duration().default(30_000),
  /**
   * block: each register block read is one `block` record with all its values (one chain link and
   * one signed segment, fewer bytes per value); reading: one `reading` record per value, each
   * sensor its own stream.
   */
  records: z.enum(["block", "reading"]).default("block"),
  devices: z.array(deviceSchema).min(1),
};

export const modbusConfigSchema = z.strictObject({
  driver: z.literal("modbus"),
  ...common,
  transport: z.enum(["rtu", "tcp"]).default("rtu"),
  /** RTU: serial device; prefer /dev/serial/by-id/… (stable across re-plugging). */
  port: z.string().min(1).optional(),
  baudRate: z.number().int().positive().default(9600),
  parity: z.enum(["none", "even", "odd"]).default("none"),
  dataBits: z.union([z.literal(7), z.literal(8)]).default(8),
  stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
  /** TCP: host and port of the device or RS-485 gateway. */
  host: z.string().min(1).optional(),
  tcpPort: z.number().int().min(1).max(65535).default(502),
});
export type ModbusConfig = z.output<typeof modbusConfigSchema>;

/** Checks that span fields: where to connect, and names and unit ids that must not repeat. */
export const modbusSourceSchema = modbusConfigSchema.superRefine((c, ctx) => {
  if (c.transport === "rtu" && !c.port) {
    ctx.addIssue({
      code: "custom",
      path: ["port"],
      message: "an RTU source needs port (e.g. /dev/serial/by-id/…)",
    });
  }
  if (c.transport === "tcp" && !c.host)
    ctx.addIssue({ code: "custom", path: ["host"], message: "a TCP source needs host" });
  const units = new Map<number, number>();
  const names = new Map<string, number>();
  const sensors = new Map<string, string>();
  c.devices.forEach((d, i) => {
    if (units.has(d.unit)) {
      ctx.addIssue({
        code: "custom",
        path: ["devices", i, "unit"],
        message: `unit ${d.unit} is already used by devices[${units.get(d.unit)}]`,
      });
    }
    if (names.has(d.name))
      ctx.addIssue({
        code: "custom",
        path: ["devices", i, "name"],
        message: `device name ${d.name} repeats`,
      });
    units.set(d.unit, i);
    names.set(d.name, i);
    const own = [...(d.preset ? (presets[d.preset]?.registers ?? []) : []), ...d.registers];
    for (const r of own) {
      const s = d.prefix + r.sensor;
      const first = sensors.get(s);
      if (first !== undefined) {
        const message = `sensor ${s} also comes from ${first}: give the device a prefix (e.g. "${d.name}.")`;
        ctx.addIssue({ code: "custom", path: ["devices", i], message });
      } else sensors.set(s, `devices[${i}]`);
    }
  });
});

import { presets } from "../presets/index.ts";
import { type DeviceConfig, type RegisterSpec, registerSchema, type Table, wordsOf } from "./config.ts";

/** One read request: a run of addresses in one table, and the points decoded from it. */
export interface Block {
  table: Table;
  address: number;
  count: number;
  points: RegisterSpec[];
}

/** Spec limits per request: 2000 bits (§6.1/6.2), 125 registers (§6.3/6.4), Modbus Application Protocol V1.1b3. */
const LIMIT: Record<Table, number> = { coil: 2000, discrete: 2000, holding: 125, input: 125 };
/** Unused addresses we are willing to read to save a round trip; larger holes split the request. */
const MAX_HOLE = 4;

/** A device's registers: its preset's (validated like hand-written ones), then its own, with the prefix. */
export function deviceRegisters(device: DeviceConfig): RegisterSpec[] {
  const fromPreset = device.preset
    ? (presets[device.preset]?.registers ?? []).map((r) => registerSchema.parse(r))
    : [];
  return [...fromPreset, ...device.registers].map((r) => ({ ...r, sensor: device.prefix + r.sensor }));
}

/** Groups a device's points into as few requests as the limits allow. */
export function planBlocks(points: RegisterSpec[]): Block[] {
  const blocks: Block[] = [];
  const byTable = new Map<Table, RegisterSpec[]>();
  for (const p of points) byTable.set(p.table, [...(byTable.get(p.table) ?? []), p]);
  for (const [table, list] of byTable) {
    list.sort((a, b) => a.address - b.address);
    let cur: Block | undefined;
    for (const p of list) {
      const end = p.address + wordsOf(p.type);
      if (cur && p.address <= cur.address + cur.count + MAX_HOLE && end - cur.address <= LIMIT[table]) {
        cur.count = Math.max(cur.count, end - cur.address);
        cur.points.push(p);
      } else {
        cur = { table, address: p.address, count: end - p.address, points: [p] };
        blocks.push(cur);
      }
    }
  }
  return blocks;
}

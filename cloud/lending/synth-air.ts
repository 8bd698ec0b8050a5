import { absoluteHumidity } from "../quality/checks/air-coherence.ts";
import type { Scenario } from "./scenario-schema.ts";

const H = 3_600_000;

/**
 * The barn's air as one body, for a scenario's `air` block: the barn is aired a few times a day
 * (temperature falls for an hour and recovers), the water in the air and the ammonia (which has no
 * outdoor source) are diluted at each airing and build up again from the animals. Temperature,
 * humidity and ammonia sensors then read one air, as in a real barn.
 */
export class BarnAir {
  private water: number | undefined;
  private nh3: number;
  private readonly hours: Set<number>;

  constructor(
    private readonly air: NonNullable<Scenario["air"]>,
    private readonly placedAt: number,
  ) {
    this.nh3 = air.ammoniaPpm;
    const n = air.airingsPerDay;
    this.hours = new Set(Array.from({ length: n }, (_, k) => Math.round(10 + (k * 24) / n) % 24));
  }

  /** The air at the end of hour `t`, the herd's climate set to `setC` °C. Called once per hour. */
  at(t: number, setC: number): { temp: number; rh: number; nh3: number } {
    const h = Math.round((t - this.placedAt) / H);
    const hod = ((h % 24) + 24) % 24;
    const airing = this.hours.has(hod);
    const after = this.hours.has((hod + 23) % 24);
    const temp = setC - (airing ? this.air.dropC : after ? this.air.dropC * 0.4 : 0);
    const w0 = absoluteHumidity(setC, this.air.humidity);
    let w = this.water ?? w0;
    w += (w0 - w) * 0.25;
    if (airing) w *= 1 - this.air.waterFall;
    this.water = w;
    this.nh3 += (this.air.ammoniaPpm - this.nh3) * 0.12;
    if (airing) this.nh3 *= 1 - this.air.ammoniaFall;
    const rh = Math.min(100, (100 * w) / absoluteHumidity(temp, 100));
    return { temp, rh, nh3: this.nh3 };
  }
}

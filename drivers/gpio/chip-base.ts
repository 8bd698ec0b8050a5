import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ERR_DRIVER_UNAVAILABLE } from "../errors.ts";

export interface GpioChip {
  name: string;
  label: string;
  base: number;
  ngpio: number;
}

/**
 * Labels of the chip that drives the 40-pin header, best first: Pi 5 (RP1), Pi 4, Pi 3/Zero.
 * Since kernel 6.6 the sysfs numbers of these lines no longer start at 0 (base 512 on a Pi 4,
 * 571 on a Pi 5), so BCM 17 is sysfs 529 or 588: the base must be read at run time, never assumed.
 */
export const HEADER_LABELS = ["pinctrl-rp1", "pinctrl-bcm2712", "pinctrl-bcm2711", "pinctrl-bcm2835"];

export function listChips(sysfsRoot = "/sys/class/gpio"): GpioChip[] {
  let names: string[];
  try {
    names = readdirSync(sysfsRoot).filter((n) => n.startsWith("gpiochip"));
  } catch {
    throw ERR_DRIVER_UNAVAILABLE(
      `${sysfsRoot} does not exist: this kernel has no sysfs GPIO (use a libgpiod backend)`,
    );
  }
  const read = (chip: string, f: string) => readFileSync(join(sysfsRoot, chip, f), "utf8").trim();
  return names.map((name) => ({
    name,
    label: read(name, "label"),
    base: Number(read(name, "base")),
    ngpio: Number(read(name, "ngpio")),
  }));
}

/** The chip whose lines the config's BCM numbers refer to: by label if given, else the header chip. */
export function resolveHeaderChip(sysfsRoot = "/sys/class/gpio", label?: string): GpioChip {
  const chips = listChips(sysfsRoot);
  const wanted = label ? [label] : HEADER_LABELS;
  for (const l of wanted) {
    const hit = chips.find((c) => c.label === l);
    if (hit) return hit;
  }
  const seen = chips.map((c) => `${c.name}=${c.label}@${c.base}`).join(", ") || "none";
  throw ERR_DRIVER_UNAVAILABLE(
    `no GPIO chip labelled ${wanted.join(" or ")} under ${sysfsRoot} (found: ${seen}); set chipLabel`,
  );
}

/** The sysfs number of a BCM line on that chip. */
export function sysfsNumber(chip: GpioChip, bcm: number): number {
  if (bcm < 0 || bcm >= chip.ngpio)
    throw ERR_DRIVER_UNAVAILABLE(`BCM ${bcm} is outside ${chip.label} (0-${chip.ngpio - 1})`);
  return chip.base + bcm;
}

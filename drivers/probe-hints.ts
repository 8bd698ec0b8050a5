import type { ProbeResult } from "./types.ts";

const PERMISSION = /EACCES|permission denied/i;
const PORT = /(\/dev\/[\w./:-]+)/;

/**
 * Probe lines for one source's results: a failure shared by several devices on one bus (the port
 * would not open) is printed once, not once per device.
 */
export function probeLines(results: ProbeResult[], fmt: (v: ProbeResult["values"]) => string): string[] {
  const lines: string[] = [];
  const seen = new Map<string, string[]>();
  for (const r of results) {
    if (r.ok) {
      lines.push(`  ok   ${r.subject}  ${fmt(r.values)}`);
      continue;
    }
    const err = r.error ?? "failed";
    const same = seen.get(err);
    if (same) {
      same.push(r.subject);
      continue;
    }
    const subjects = [r.subject];
    seen.set(err, subjects);
    lines.push(`  FAIL ${r.subject}: ${err}`);
    // Filled in below once every device sharing this error is known.
    lines.push(`\u0000${err}`);
  }
  return lines.flatMap((l) => {
    if (!l.startsWith("\u0000")) return [l];
    const others = seen.get(l.slice(1))!.slice(1);
    return others.length ? [`       (same error for ${others.join(", ")})`] : [];
  });
}

/** One hint for the whole probe when a serial port could not be opened for lack of permission. */
export function permissionHint(errors: string[]): string | null {
  const denied = errors.find((e) => PERMISSION.test(e));
  if (!denied) return null;
  const port = PORT.exec(denied)?.[1] ?? "the serial port";
  return [
    `hint: this user may not open ${port}. Serial ports belong to the 'dialout' group:`,
    "        sudo usermod -aG dialout $USER    (then log out and in; the barnlink service user needs it too)",
    "      and name adapters by /dev/serial/by-id/… (ls -l /dev/serial/by-id/) so the port keeps its name",
    "      across reboots and re-plugging; a CH340 adapter without a serial number needs the udev rule in",
    "      docs/install-pi.md.",
  ].join("\n");
}

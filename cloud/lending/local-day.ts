/**
 * Calendar days in a facility's own time zone (IANA name, default Asia/Shanghai). Interest counts
 * the borrower's calendar days: ¥1M released at 09:00 Beijing time and repaid at 07:00 the next
 * morning was out over one Beijing midnight and owes one day, although both instants fall on the
 * same UTC date. Offsets come from Intl, so zones with daylight saving work too.
 */
export const DEFAULT_TIME_ZONE = "Asia/Shanghai";
const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();
function fmt(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Whether `tz` is a time zone Intl knows. */
export function isTimeZone(tz: string): boolean {
  try {
    fmt(tz);
    return true;
  } catch {
    return false;
  }
}

/** The local calendar date and wall time of an instant. */
export function localParts(ms: number, tz: string) {
  const p = Object.fromEntries(
    fmt(tz)
      .formatToParts(new Date(ms))
      .map((x) => [x.type, x.value]),
  );
  return {
    y: Number(p.year),
    m: Number(p.month),
    d: Number(p.day),
    h: Number(p.hour),
    mi: Number(p.minute),
    s: Number(p.second),
  };
}

/** The zone's offset from UTC at an instant, in ms (Beijing: +8 h). */
function offsetAt(ms: number, tz: string): number {
  const p = localParts(ms, tz);
  const asUtc = Date.UTC(p.y, p.m - 1, p.d, p.h, p.mi, p.s);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The instant local midnight began on the local date holding `ms`. */
export function localDayStart(ms: number, tz: string): number {
  const p = localParts(ms, tz);
  const midnightUtc = Date.UTC(p.y, p.m - 1, p.d);
  // Two passes: the offset at midnight can differ from the offset at `ms` across a DST change.
  let guess = midnightUtc - offsetAt(ms, tz);
  guess = midnightUtc - offsetAt(guess, tz);
  return guess;
}

/** Local date "YYYY-MM-DD" of an instant. */
export function localDate(ms: number, tz: string): string {
  const p = localParts(ms, tz);
  return `${p.y}-${String(p.m).padStart(2, "0")}-${String(p.d).padStart(2, "0")}`;
}

/** Calendar days from the local date of `fromMs` to the local date of `toMs` (0 if not after). */
export function localDays(fromMs: number, toMs: number, tz: string): number {
  const a = localParts(fromMs, tz);
  const b = localParts(toMs, tz);
  const days = Math.round((Date.UTC(b.y, b.m - 1, b.d) - Date.UTC(a.y, a.m - 1, a.d)) / DAY_MS);
  return Math.max(0, days);
}

/** The instant `days` local calendar days after the local midnight holding `ms`. */
export function addLocalDays(ms: number, days: number, tz: string): number {
  const p = localParts(ms, tz);
  const target = Date.UTC(p.y, p.m - 1, p.d + days, 12);
  return localDayStart(target - offsetAt(target, tz), tz);
}

/** The last local midnight on or before `ms` that starts a month (for month-end accruals). */
export function localMonthStart(ms: number, tz: string): number {
  const p = localParts(ms, tz);
  const target = Date.UTC(p.y, p.m - 1, 1, 12);
  return localDayStart(target - offsetAt(target, tz), tz);
}

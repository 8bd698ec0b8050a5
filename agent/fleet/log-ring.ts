import pino, { type Logger } from "pino";

/** Keys whose values never reach a log line (pino's redaction, on stderr and in the ring alike). */
export const REDACT_PATHS = [
  "password",
  "*.password",
  "token",
  "*.token",
  "secret",
  "*.secret",
  "privateKey",
  "*.privateKey",
  "authorization",
  "*.authorization",
];

const MAX_LINE = 2048;

/**
 * The agent's most recent log lines in memory, for `status.report` (a remote installer's view of
 * the journal). Bounded by lines and by bytes; a line too long is cut. Each line is scrubbed as it
 * is stored: known secrets (the config's passwords) and credentials in URLs become `[redacted]`,
 * whatever logged them.
 */
export class LogRing {
  private readonly lines: string[] = [];
  private bytes = 0;
  private secrets: string[] = [];

  constructor(
    readonly maxLines = 1000,
    readonly maxBytes = 256 * 1024,
  ) {}

  /** The literal values to scrub (passwords of the running config); short ones are ignored. */
  setSecrets(values: Array<string | undefined>): void {
    this.secrets = values.filter((v): v is string => typeof v === "string" && v.length >= 4);
  }

  /** pino calls this with one JSON line per entry. */
  write(line: string): void {
    let s = redactText(line.trimEnd(), this.secrets);
    if (s.length > MAX_LINE) s = `${s.slice(0, MAX_LINE)}…`;
    this.lines.push(s);
    this.bytes += s.length;
    while (this.lines.length > this.maxLines || this.bytes > this.maxBytes)
      this.bytes -= this.lines.shift()!.length;
  }

  /** The newest lines (at most `n`, at most `maxBytes` in all), oldest first, at or above `minLevel`. */
  tail(n: number, maxBytes: number, minLevel = 0): { lines: string[]; truncated: boolean } {
    const out: string[] = [];
    let bytes = 0;
    let truncated = false;
    for (let i = this.lines.length - 1; i >= 0; i--) {
      const l = this.lines[i]!;
      if (minLevel > 0 && levelOf(l) < minLevel) continue;
      if (out.length >= n || bytes + l.length > maxBytes) {
        truncated = true;
        break;
      }
      out.push(l);
      bytes += l.length;
    }
    return { lines: out.reverse(), truncated };
  }
}

const levelOf = (line: string) => Number(/"level":(\d+)/.exec(line)?.[1] ?? 0);

/** Scrubs credentials from free text: given secret values, `user:pass@` in URLs, `"password":"…"` pairs. */
export function redactText(text: string, secrets: string[] = []): string {
  let s = text;
  for (const v of secrets) s = s.split(v).join("[redacted]");
  s = s.replace(/(\/\/[^/\s:@"]+:)[^@\s/"]+@/g, "$1[redacted]@");
  s = s.replace(
    /("(?:password|passwd|secret|token|privateKey|authorization)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi,
    '$1"[redacted]"',
  );
  return s;
}

/** The agent's logger: JSON lines on stderr (journald) and into the ring, secrets redacted in both. */
export function ringLogger(name: string, ring: LogRing, level = process.env.BARNLINK_LOG ?? "info"): Logger {
  return pino(
    { name, level, base: { pid: process.pid }, redact: { paths: REDACT_PATHS, censor: "[redacted]" } },
    pino.multistream([
      { level: level as pino.Level, stream: pino.destination({ fd: 2, sync: false }) },
      { level: level as pino.Level, stream: ring },
    ]),
  );
}

import { describe, expect, it } from "vitest";
import { parseBytes, parseDuration } from "./config.ts";

describe("durations and sizes", () => {
  it("parse to whole milliseconds; a positive duration never becomes 0 ('never')", () => {
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("1.1s")).toBe(1100);
    expect(parseDuration("5m")).toBe(300_000);
    expect(parseDuration(1500)).toBe(1500);
    expect(parseDuration(2.4)).toBe(2);
    expect(parseDuration(0.001)).toBe(1);
    expect(parseDuration(0)).toBe(0);
    expect(() => parseDuration("soon")).toThrow(/not a duration: "soon"/);
  });
  it("parse sizes with binary and decimal units", () => {
    expect(parseBytes("512KiB")).toBe(512 * 1024);
    expect(parseBytes(4096)).toBe(4096);
    expect(() => parseBytes("lots")).toThrow(/not a size/);
  });
});

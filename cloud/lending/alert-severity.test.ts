import { describe, expect, it } from "vitest";
import { mortalitySeverity } from "./alert-severity.ts";

describe("mortality alert severity matches the evidence", () => {
  it("one missed face on a 12-pig pen is not a mortality critical", () => {
    expect(mortalitySeverity(11.9, 11, 0.03)).toBe("info");
    expect(mortalitySeverity(12, 10, 0.03)).toBe("warning");
  });
  it("a real loss is critical", () => {
    expect(mortalitySeverity(500, 440, 0.03)).toBe("critical");
    expect(mortalitySeverity(12, 8, 0.03)).toBe("critical");
  });
  it("a shortfall within a few slacks on a big barn warns", () => {
    expect(mortalitySeverity(500, 480, 0.03)).toBe("warning");
  });
});

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { facesConfig } from "./config.ts";

describe("faces sample config", () => {
  it("validates against the driver's schema", () => {
    const raw = parse(readFileSync(fileURLToPath(new URL("sample.yaml", import.meta.url)), "utf8"));
    const c = facesConfig.parse(raw);
    expect(c).toMatchObject({
      driver: "faces",
      censusWindow: 86_400_000,
      synthetic: { pigs: 20, interval: 200 },
    });
  });
});

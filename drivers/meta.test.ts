import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseConfigText } from "../core/config.ts";
import { drivers } from "./registry.ts";

const here = dirname(fileURLToPath(import.meta.url));
/** Folders whose README/sample are still to come from their owner; empty this list, never grow it. */
const PENDING = new Set<string>();

/** The Telegraf rule: every driver is a folder with its README and a sample config that validates. */
describe.each(drivers.filter((d) => !PENDING.has(d.name)).map((d) => [d.name, d] as const))(
  "driver %s",
  (name, d) => {
    const folder = join(here, name);
    it("has README.md and sample.yaml in drivers/<name>/", () => {
      expect(existsSync(join(folder, "README.md")), `${folder}/README.md`).toBe(true);
      expect(existsSync(join(folder, "sample.yaml")), `${folder}/sample.yaml`).toBe(true);
    });

    it("sample.yaml validates against its schema, and the README shows it verbatim", () => {
      const text = readFileSync(join(folder, "sample.yaml"), "utf8");
      const cfg = parseConfigText(text, d.configSchema, `${name}/sample.yaml`) as { driver: string };
      expect(cfg.driver).toBe(name);
      expect(
        readFileSync(join(folder, "README.md"), "utf8"),
        "README must include sample.yaml unchanged",
      ).toContain(text.trim());
    });

    it("has a one-line description and a strict schema keyed by driver", () => {
      expect(d.description.length).toBeGreaterThan(10);
      expect(d.description).not.toContain("\n");
      const bad = d.configSchema.safeParse({ driver: name, name: "x", noSuchKey: 1 });
      expect(bad.success).toBe(false);
    });
  },
);

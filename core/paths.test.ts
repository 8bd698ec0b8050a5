import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tmpDir } from "../test/helpers/services.ts";
import { BUNDLED, CLI_ENTRY, packageRoot, ROOT } from "./paths.ts";

describe("package root", () => {
  it("is the folder whose package.json is named barnlink", () => {
    expect(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).name).toBe("barnlink");
    expect(existsSync(join(ROOT, "agent/http/assets/gateway.html"))).toBe(true);
  });

  it("walks past other packages' package.json", () => {
    const dir = tmpDir();
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "barnlink" }));
    mkdirSync(join(dir, "node_modules/x/dist"), { recursive: true });
    writeFileSync(join(dir, "node_modules/x/package.json"), JSON.stringify({ name: "x" }));
    expect(packageRoot(join(dir, "node_modules/x/dist"))).toBe(dir);
  });

  it("says so when there is none above", () => {
    expect(() => packageRoot(tmpDir())).toThrow(/no package.json named "barnlink"/);
  });

  it("runs the sources through bin/barnlink.js when not bundled", () => {
    expect(BUNDLED).toBe(false);
    expect(CLI_ENTRY).toBe(join(ROOT, "bin/barnlink.js"));
  });
});

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tmpDir } from "../../../test/helpers/services.ts";
import { parseQualityParams } from "../../quality/params.ts";
import { assertExpectations, expectationProblems, loadScenario, type ScenarioResult } from "../scenario.ts";
import { thresholdsSchema } from "../thresholds.ts";

const dir = tmpDir();
const file = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return [(e as { code?: string }).code, (e as Error).message];
  }
  return ["none", ""];
};

describe("scenario and evidence-quality error codes", () => {
  it("an unreadable or invalid scenario file is BL_SCENARIO_FILE, naming the field", () => {
    expect(codeOf(() => loadScenario(join(dir, "missing.yaml")))[0]).toBe("BL_SCENARIO_FILE");
    const bad = file(
      "bad.yaml",
      "name: x\ndescription: y\nspecies: broiler\nhead: -3\nstart: '2025-03-03'\n",
    );
    const [code, msg] = codeOf(() => loadScenario(bad));
    expect(code).toBe("BL_SCENARIO_FILE");
    expect(msg).toContain("head");
  });
  it("a replay that misses its expectations is BL_SCENARIO_EXPECT, listing each", () => {
    const s = loadScenario(join(import.meta.dirname, "../../../docs/scenarios/ammonia-faked.yaml"));
    const r = {
      decisions: s.expect!.map((h, seq) => ({ seq, history: h === "hold" ? "release" : h, reasons: [] })),
      findings: [],
    } as unknown as ScenarioResult;
    const p = expectationProblems(s, r);
    expect(p).toEqual([
      expect.stringMatching(/^decisions release, release, release/),
      'tranche 2: no reason containing "did not fall at"',
      "no air-coherence finding",
    ]);
    expect(codeOf(() => assertExpectations(s, r))[0]).toBe("BL_SCENARIO_EXPECT");
  });
  it("invalid quality parameters are BL_QUALITY_PARAMS; a facility cannot be written with them", () => {
    const [code, msg] = codeOf(() => parseQualityParams({ air: { airingDropC: -1 } }));
    expect(code).toBe("BL_QUALITY_PARAMS");
    expect(msg).toContain("quality.air.airingDropC");
    expect(codeOf(() => parseQualityParams({}, { frames: { maxDistance: 99 } }))[0]).toBe(
      "BL_QUALITY_PARAMS",
    );
    expect(thresholdsSchema.safeParse({ quality: { lookbackDays: -1 } }).success).toBe(false);
    expect(thresholdsSchema.safeParse({ quality: { air: { ahJumpShare: 0.3 } } }).success).toBe(true);
  });
});

import { afterEach, describe, expect, it, vi } from "vitest";

describe("npm run bench -- faces-real", () => {
  afterEach(() => vi.unstubAllEnvs());

  it("says the dev set is absent and measures nothing when it is not there (a fresh clone)", async () => {
    vi.stubEnv("FACES_DEV_SET", "/nonexistent/cattle-faces-dev");
    vi.resetModules();
    const { benchFacesReal } = await import("./faces-real.ts");
    const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      expect(await benchFacesReal()).toEqual([
        { bench: "faces-real", metric: "dev set present", value: 0, unit: "bool" },
      ]);
      expect(String(err.mock.calls[0]?.[0])).toMatch(/dev set is absent/);
    } finally {
      err.mockRestore();
    }
  });
});

import { describe, expect, it } from "vitest";
import { agentConfigSchema } from "../config.ts";

const base = { device: "barn-1", cloud: { publicKey: `${"A".repeat(43)}=` } };

/** Issue #13: "The gateway page listens on 0.0.0.0:8081 with no password by default." */
describe("the gateway page's exposure", () => {
  it("binds to loopback by default", () => {
    expect(agentConfigSchema().parse(base).http.host).toBe("127.0.0.1");
  });
  it("refuses a LAN address without a password, naming the key", () => {
    const r = agentConfigSchema().safeParse({ ...base, http: { host: "0.0.0.0" } });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(/http.password|password/);
    expect(
      agentConfigSchema().parse({ ...base, http: { host: "0.0.0.0", password: "long-enough-pw" } }).http.host,
    ).toBe("0.0.0.0");
    expect(
      agentConfigSchema().parse({ ...base, http: { host: "0.0.0.0", enabled: false } }).http.enabled,
    ).toBe(false);
  });
});

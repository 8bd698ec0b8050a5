import { describe, expect, it } from "vitest";
import { systemClock } from "../core/clock.ts";
import { generateKeyPair } from "../core/keys.ts";
import { silentLogger } from "../core/log.ts";
import type { Outbox } from "../sync/outbox/types.ts";
import { agentConfigSchema } from "./config.ts";
import { linkOptionsFrom } from "./link-options.ts";

describe("link options", () => {
  const base = { device: "gw-1", cloud: { publicKey: generateKeyPair().publicKeyB64, mqtt: {} } };
  const parts = {
    outbox: {} as Outbox,
    deviceKey: generateKeyPair(),
    clock: systemClock("always"),
    log: silentLogger,
    onCommand: () => {},
  };
  it("gives MQTT.js the failover brokers after the first, in order (it takes the next on each reconnect)", () => {
    const c = agentConfigSchema().parse({
      ...base,
      cloud: {
        ...base.cloud,
        mqtt: { url: "mqtt://a.example:1884", failover: ["mqtts://b.example", "tcp://c.example:1890"] },
      },
    });
    expect(linkOptionsFrom(c, parts).mqtt?.servers).toEqual([
      { host: "a.example", port: 1884, protocol: "mqtt" },
      { host: "b.example", port: 8883, protocol: "mqtts" },
      { host: "c.example", port: 1890, protocol: "mqtt" },
    ]);
  });
  it("without failover, one broker as before", () => {
    expect(linkOptionsFrom(agentConfigSchema().parse(base), parts).mqtt?.servers).toBeUndefined();
  });
});

import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RecordingContext } from "../../test/helpers/recording-context.ts";
import { waitFor } from "../../test/helpers/wait-for.ts";
import { gpioConfigSchema } from "./config.ts";
import { gpiodBinding, headerChip } from "./gpiod-binding.ts";
import { GpioSource, pickBinding } from "./source.ts";

// The libgpiod backend against stand-ins for Debian's gpiod tools (simulated GPIO: this machine has
// no gpio-sim kernel module or configfs). Each stand-in is a small script that prints what the real
// tool prints (recorded from libgpiod v1.6.3 on Debian 12 and v2.1 on trixie) and logs how it was
// called, so the test checks the binding's real child processes, arguments and parsing.
const DETECT = "gpiochip0 [pinctrl-bcm2711] (58 lines)\ngpiochip1 [raspberrypi-exp-gpio] (8 lines)\n";

function tools(version: 1 | 2) {
  const dir = mkdtempSync(join(tmpdir(), `bl-gpiod-v${version}-`));
  const state = join(dir, "state");
  mkdirSync(state);
  writeFileSync(join(state, "value"), "0\n");
  writeFileSync(join(state, "events"), "");
  const v = version === 1 ? "v1.6.3" : "v2.1.3";
  const script = (name: string, body: string) => {
    const f = join(dir, name);
    writeFileSync(f, `#!/bin/sh\necho "${name} $*" >> "${state}/calls"\n${body}\n`);
    chmodSync(f, 0o755);
  };
  script("gpiodetect", `printf '%s' '${DETECT}'`);
  script(
    "gpioget",
    `if [ "$1" = "--version" ]; then echo "gpioget (libgpiod) ${v}"; echo "Copyright (C) 2017-2023 Bartosz Golaszewski"; exit 0; fi\ncat "${state}/value"`,
  );
  script("gpiomon", `exec tail -n +1 -f "${state}/events"`);
  script("gpioset", `echo "$*" > "${state}/held"\nexec sleep 600`);
  const calls = () =>
    existsSync(join(state, "calls")) ? readFileSync(join(state, "calls"), "utf8").trim().split("\n") : [];
  return {
    dir,
    calls,
    set: (value: 0 | 1) => writeFileSync(join(state, "value"), `${value}\n`),
    edge: (e: string) => appendFileSync(join(state, "events"), `${e}\n`),
    held: () => (existsSync(join(state, "held")) ? readFileSync(join(state, "held"), "utf8").trim() : ""),
  };
}

describe("gpiod backend (libgpiod tools as child processes)", () => {
  it("finds the header chip in gpiodetect's output, or says what it found", () => {
    expect(headerChip(DETECT)).toBe("gpiochip0");
    expect(
      headerChip("gpiochip4 [pinctrl-rp1] (54 lines)\ngpiochip0 [gpio-brcmstb@107d508500] (32 lines)\n"),
    ).toBe("gpiochip4");
    expect(() => headerChip("gpiochip0 [other] (8 lines)\n")).toThrow(/gpiodetect: gpiochip0=other/);
  });

  for (const version of [1, 2] as const) {
    it(`v${version}: reads, watches edges and holds outputs with that version's options`, async () => {
      const t = tools(version);
      const b = gpiodBinding({ toolsDir: t.dir });
      expect(b.kind).toBe("gpiod");
      t.set(1);
      const line = await b.input(17, { activeLow: true });
      expect(await line.read()).toBe(1);
      expect(t.calls()).toContain(
        version === 1 ? "gpioget -l gpiochip0 17" : "gpioget -l --numeric -c gpiochip0 17",
      );
      const seen: number[] = [];
      const unwatch = line.watch((v) => seen.push(v));
      t.edge(version === 1 ? "0" : "2"); // falling
      t.edge("1"); // rising
      await waitFor(() => seen.length === 2, "two edges");
      expect(seen).toEqual([0, 1]);
      expect(await line.read()).toBe(1); // the watched line's value, from its edges
      expect(t.calls().some((c) => c.startsWith("gpiomon") && c.endsWith("17"))).toBe(true);
      unwatch();
      await line.close();

      const out = await b.output(27, { activeLow: false, initial: 1 });
      await waitFor(() => t.held() !== "", "gpioset started");
      expect(t.held()).toBe(version === 1 ? "--mode=signal gpiochip0 27=1" : "-c gpiochip0 27=1");
      await out.write(0);
      await waitFor(() => t.held().endsWith("27=0"), "gpioset restarted with 0");
      await out.close();
    });
  }

  it("a gpio source on the gpiod backend emits debounced events from gpiomon's edges", async () => {
    const t = tools(2);
    const cfg = gpioConfigSchema.parse({
      driver: "gpio",
      name: "doors",
      backend: "gpiod",
      gpiodTools: t.dir,
      inputs: [{ name: "door.main", line: 17, debounce: "10ms" }],
    });
    const src = new GpioSource(cfg);
    const ctx = new RecordingContext();
    await src.start(ctx);
    try {
      t.edge("1");
      await waitFor(
        () => ctx.readings.some((r) => r.kind === "event" && (r.body as { state: unknown }).state === true),
        "door open event",
      );
    } finally {
      ctx.abort();
      await src.stop();
    }
  });

  it("auto: sysfs (onoff) where the header chip is still there, else gpiod", () => {
    const one = { driver: "gpio", name: "g", inputs: [{ name: "door", line: 17 }] };
    const none = gpioConfigSchema.parse({ ...one, sysfsRoot: join(tmpdir(), "no-such-sysfs") });
    expect(pickBinding(none).kind).toBe("gpiod");
    const root = mkdtempSync(join(tmpdir(), "bl-sysfs-"));
    mkdirSync(join(root, "gpiochip512"));
    writeFileSync(join(root, "gpiochip512", "label"), "pinctrl-bcm2711\n");
    writeFileSync(join(root, "gpiochip512", "base"), "512\n");
    writeFileSync(join(root, "gpiochip512", "ngpio"), "58\n");
    expect(pickBinding(gpioConfigSchema.parse({ ...one, sysfsRoot: root })).kind).toBe("onoff");
    expect(pickBinding(gpioConfigSchema.parse({ ...one, backend: "sim" })).kind).toBe("sim");
  });
});

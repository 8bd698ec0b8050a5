import { resolve } from "node:path";
import { parseDuration } from "../../core/config.ts";
import { ERR_USAGE } from "../../core/errors.ts";
import { args, type CommandSpec, need, out } from "../cli-kit.ts";
import { upgrade } from "../upgrade/ab-release.ts";

const usage =
  "barnlink upgrade --tarball barnlink-X.Y.Z.tgz [--root /opt/barnlink] [--restart 'systemctl restart barnlink-agent'] [--health http://127.0.0.1:8081/healthz] [--wait 90s] [--no-install]";

export const upgradeCmd: CommandSpec = {
  name: "upgrade",
  summary: "Install a release beside the running one, switch, health-check, roll back by itself if it fails",
  usage,
  async run(argv) {
    const a = args(
      argv,
      {
        tarball: { type: "string" },
        root: { type: "string" },
        restart: { type: "string" },
        health: { type: "string" },
        wait: { type: "string" },
        "no-install": { type: "boolean" },
      },
      usage,
    );
    let waitMs: number;
    try {
      waitMs = parseDuration(a.values.wait ?? "90s");
    } catch (e) {
      throw ERR_USAGE(`--wait: ${(e as Error).message}`);
    }
    const r = await upgrade({
      tarball: resolve(need(a.values.tarball, "--tarball FILE", usage)),
      root: resolve(a.values.root ?? "/opt/barnlink"),
      restart: a.values.restart ?? "systemctl restart barnlink-agent",
      health: a.values.health ?? "http://127.0.0.1:8081/healthz",
      waitMs,
      install: !a.values["no-install"],
      log: out,
    });
    out(`upgraded ${r.from ?? "(first install)"} → ${r.to}`);
    return 0;
  },
};

import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DeploymentCa } from "../../cloud/certs/ca.ts";
import { ERR_USAGE } from "../../core/errors.ts";
import { args, type CommandSpec, need, out } from "../cli-kit.ts";

const usage =
  "barnlink certs init|server|device|list|revoke --dir CA_DIR [--name TEXT] [--cn NAME] [--host H ...] [--csr FILE] [--out PREFIX] [--serial HEX]";

/**
 * `barnlink certs`: the deployment's small CA (cloud/certs/ca.ts). `server` makes a broker
 * certificate with its key; `device --csr` signs a gateway's request (its key stays on the gateway);
 * `device` without --csr makes the key here (an installer's bench). `revoke` rewrites crl.pem.
 */
export const certs: CommandSpec = {
  name: "certs",
  summary: "A small CA for a deployment: init, issue server and device certificates, list, revoke",
  usage,
  async run(argv) {
    const [sub, ...rest] = argv;
    const a = args(
      rest,
      {
        dir: { type: "string" },
        name: { type: "string" },
        cn: { type: "string" },
        host: { type: "string", multiple: true },
        csr: { type: "string" },
        out: { type: "string" },
        serial: { type: "string" },
        days: { type: "string" },
      },
      usage,
    );
    const dir = resolve(need(a.values.dir, "--dir CA_DIR", usage));
    const days = a.values.days === undefined ? undefined : Number(a.values.days);
    if (days !== undefined && !(Number.isInteger(days) && days > 0))
      throw ERR_USAGE(`--days must be a positive integer, got ${a.values.days}`);
    if (sub === "init") {
      await DeploymentCa.create(dir, a.values.name, days);
      out(`created a CA in ${dir} (ca.pem is what brokers and agents trust; keep ca.key offline)`);
      return 0;
    }
    const ca = await DeploymentCa.open(dir);
    if (sub === "server" || sub === "device") {
      const cn = need(a.values.cn, "--cn NAME", usage);
      const prefix = resolve(a.values.out ?? join(dir, cn));
      const r = await ca.issue({
        kind: sub,
        cn,
        hosts: a.values.host,
        csrPem: a.values.csr ? readFileSync(a.values.csr, "utf8") : undefined,
        days,
      });
      writeFileSync(`${prefix}.pem`, r.certPem);
      if (r.keyPem) writeFileSync(`${prefix}.key`, r.keyPem, { mode: 0o600 });
      out(
        `issued ${sub} certificate CN=${cn} serial ${r.serial}: ${prefix}.pem${r.keyPem ? ` + ${prefix}.key` : ""}`,
      );
      return 0;
    }
    if (sub === "list") {
      for (const c of ca.list())
        out(
          `${c.serial}  ${c.kind.padEnd(6)}  CN=${c.cn}  until ${c.notAfter}${c.revokedAt ? `  REVOKED ${c.revokedAt}` : ""}`,
        );
      return 0;
    }
    if (sub === "revoke") {
      const c = await ca.revoke(need(a.values.serial, "--serial HEX", usage));
      out(`revoked ${c.serial} (CN=${c.cn}); ${join(dir, "crl.pem")} rewritten: reload the broker`);
      return 0;
    }
    throw ERR_USAGE(`unknown certs subcommand '${sub ?? ""}'; usage: ${usage}`);
  },
};

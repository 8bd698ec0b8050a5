import { createHash } from "node:crypto";
import { join } from "node:path";
import { httpCall } from "../core/http-request.ts";
import { ERR_MODEL_FETCH, ERR_MODEL_HASH, ERR_MODEL_PACKAGE } from "../models/errors.ts";
import { installModel, readCurrent } from "../models/rollout/install.ts";
import type { Agent } from "./agent.ts";

interface Reloadable {
  reloadModel?(): Promise<string | null>;
}

/**
 * `model.install` {version, url, sha256}: fetch the signed package from the cloud, check its hash,
 * install it (signature and every file verified; the switch is atomic; the previous version is
 * kept for rollback), reload the faces sources, and record the outcome as evidence. A refused
 * package changes nothing: the running model keeps running.
 */
export function registerModelCommands(agent: Agent, sources: () => unknown[]): void {
  const root = join(agent.config.dataDir, "models");
  agent.onCommand("model.install", async (cmd) => {
    const { version, url, sha256 } = cmd.args as { version?: string; url?: string; sha256?: string };
    const report = (state: string, detail: Record<string, unknown>) =>
      agent.emit([
        {
          stream: "model",
          kind: "event",
          body: { input: "model.version", state, detail: { version, ...detail } },
        },
      ]);
    try {
      if (!url || !version) throw ERR_MODEL_PACKAGE("model.install needs url and version");
      const res = await httpCall(url, { signal: AbortSignal.timeout(120_000) }).catch((e: Error) => {
        throw ERR_MODEL_FETCH(`fetching ${url}: ${e.message}`);
      });
      if (res.status < 200 || res.status >= 300) throw ERR_MODEL_FETCH(`fetching ${url}: HTTP ${res.status}`);
      const bytes = res.body;
      const got = createHash("sha256").update(bytes).digest("hex");
      if (sha256 && got !== sha256)
        throw ERR_MODEL_HASH(`package hash ${got} differs from the command's ${sha256}`);
      const cur = installModel(bytes, agent.config.cloud.publicKey, root);
      for (const s of sources()) await (s as Reloadable).reloadModel?.();
      agent.log.info({ version: cur.version, previous: cur.previous }, "model installed");
      report(cur.version, { previous: cur.previous, installed: true });
    } catch (e) {
      const reason = (e as Error).message;
      agent.log.error({ version, reason }, "model package refused; the current model keeps running");
      report("refused", { reason, running: readCurrent(root)?.version ?? null });
      agent.raise({
        code: "model.refused",
        severity: "warning",
        subject: `model ${version ?? "?"}`,
        active: true,
        message: reason,
      });
    }
  });
}

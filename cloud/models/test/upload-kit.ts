import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { generateKeyPair } from "../../../core/keys.ts";
import { silentLogger } from "../../../core/log.ts";
import { productionApi } from "../../../test/helpers/cloud-api.ts";
import { freshDb, tmpDir } from "../../../test/helpers/services.ts";
import { hashToken } from "../../api/auth.ts";
import type { CloudContext } from "../../context.ts";
import type { ModuleOptions } from "../../modules.ts";

/** tar-stream's packer (the same package the upload route parses with), building test archives. */
export interface Pack {
  entry(h: Record<string, unknown>, body?: Buffer | string): void;
  finalize(): void;
  on(e: "data", f: (c: Buffer) => void): void;
  on(e: "end", f: () => void): void;
}
export const tar = createRequire(import.meta.url)("tar-stream") as { pack(): Pack };

type AdaptOptions = NonNullable<ModuleOptions["adapt"]>;

/**
 * What the herd-upload tests (../herd-upload.test.ts, ../herd-upload-cli.test.ts) share: a fresh SQLite
 * database, a scratch folder with its herd data folder, a cloud context, the models module's
 * options, and the production API with one token per role (`api()`, built when the test is ready).
 */
export async function uploadFixture(
  name: string,
  tokens: Record<string, string>,
  adapt: Partial<AdaptOptions> & Pick<AdaptOptions, "maxUploadBytes">,
) {
  const fresh = await freshDb("sqlite");
  const root = tmpDir(`bl-${name}-`);
  const herdDataDir = join(root, "herds");
  mkdirSync(herdDataDir, { recursive: true });
  const ctx: CloudContext = {
    db: fresh.db,
    log: silentLogger,
    key: generateKeyPair(),
    now: Date.now,
    sendCommand: async () => "cmd",
  };
  const modules: ModuleOptions = {
    modelsDir: join(root, "models"),
    adapt: { workDir: join(root, "work"), herdDataDir, maxMinutes: 60, worker: name, ...adapt },
  };
  const api = () =>
    productionApi(
      ctx,
      Object.entries(tokens).map(([role, t]) => ({
        name: `${role}-1`,
        role: role as "officer",
        sha256: hashToken(t),
      })),
      { modules },
    );
  return { fresh, root, herdDataDir, uploads: join(herdDataDir, "uploads"), ctx, modules, api };
}

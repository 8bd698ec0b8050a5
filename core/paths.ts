import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ERR_INSTALL } from "./errors.ts";

const HERE = fileURLToPath(import.meta.url);

/**
 * The barnlink package root: the nearest folder above this module whose package.json is named
 * "barnlink". This module is `core/paths.ts` in the sources and part of `dist/barnlink.mjs` in the
 * production build, so assets are found from the root, never relative to the running file.
 */
export function packageRoot(from = dirname(HERE)): string {
  for (let dir = from; ; ) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, "utf8")) as { name?: unknown }).name === "barnlink") return dir;
      } catch {
        // not ours (or unreadable): keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw ERR_INSTALL(`barnlink: no package.json named "barnlink" above ${from}`);
    dir = up;
  }
}

export const ROOT = packageRoot();

/** A file or folder of the package, by its path from the root (`agent/http/assets`). */
export const fromRoot = (...parts: string[]): string => join(ROOT, ...parts);

/** Whether this code runs from the production bundle (`npm run build`) rather than the TypeScript sources. */
export const BUNDLED = !HERE.endsWith(".ts");

/**
 * The script that starts another barnlink process the way this one runs: the bundle's CLI entry
 * (`barnlink.mjs`; this module sits in it or in its `chunks/` folder, bin/build.js), or
 * `bin/barnlink.js` (through tsx) from the sources.
 */
export const CLI_ENTRY = !BUNDLED
  ? fromRoot("bin/barnlink.js")
  : basename(dirname(HERE)) === "chunks"
    ? join(dirname(HERE), "..", "barnlink.mjs")
    : HERE.replace(/-agent\.mjs$/, ".mjs");

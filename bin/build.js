#!/usr/bin/env node
// `npm run build [-- OUTFILE]`: bundles the `barnlink` command (agent/entry.ts) with esbuild into one
// ES module, dist/barnlink.mjs, run in production as `node dist/barnlink.mjs …` (docs/deployment.md).
// Packages stay external (node_modules beside it, native modules as installed); only barnlink's own
// TypeScript is bundled. Assets are found from the package root (core/paths.ts), so the bundle must
// sit inside the package (dist/, or node_modules/.cache/… for tests and benchmarks).
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const CLI_OUTFILE = join(ROOT, "dist/barnlink.mjs");

/** The esbuild options of the production build; the drain benchmark bundles its agent half with them too. */
export function bundleOptions(entry, outfile) {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: true,
    logLevel: "warning",
  };
}

/** Builds the CLI bundle; returns its path. */
export async function buildCli(outfile = CLI_OUTFILE) {
  await build(bundleOptions(join(ROOT, "agent/entry.ts"), outfile));
  return outfile;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const out = await buildCli(process.argv[2] ? resolve(process.argv[2]) : CLI_OUTFILE);
  process.stdout.write(`built ${out}\n`);
}

#!/usr/bin/env node
// `npm run build [-- OUTFILE]`: bundles barnlink's TypeScript with esbuild into ES modules under dist/:
//   dist/barnlink.mjs        the whole `barnlink` command (agent/entry.ts), run as `node dist/barnlink.mjs …`
//   dist/barnlink-agent.mjs  the gateway alone (agent/agent-entry.ts: agent, status, keys, drivers, decode)
//   dist/chunks/*.mjs        code split at each command's dynamic import, loaded when that command runs
// Each command is imported lazily (agent/commands/index.ts), so `barnlink agent` loads no chunk of
// the cloud, tfjs or sharp (test/e2e/agent-loads.test.ts checks the build's metafile and a running
// agent). Packages stay external (node_modules beside it, native modules as installed), but for zod:
// its ESM is ~100 files, all 49 locales among them, that node would load, parse and keep one by one;
// bundled with barnlink's TypeScript and given only the English locale (barnlink sets no other), the
// gateway starts ~5 MB lighter (issue #15, docs/performance.md). Assets are found from the package root (core/paths.ts), so
// the bundle must sit inside the package (dist/, or node_modules/.cache/… for tests and benchmarks).
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const CLI_OUTFILE = join(ROOT, "dist/barnlink.mjs");

const require = createRequire(import.meta.url);

/**
 * Bundles zod into the output instead of leaving it external, with its `locales` namespace cut to
 * the English locale zod configures itself with (`z.locales.en`; nothing in barnlink calls
 * `z.config` with another): the other 48 locales are never loaded.
 */
export const zodInline = {
  name: "barnlink-zod-inline",
  setup(b) {
    const en = require.resolve("zod/v4/locales/en.js");
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (a) =>
      /[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(a.importer)
        ? { path: "zod-locales-en", namespace: "barnlink-zod" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "barnlink-zod" }, () => ({
      contents: `export { default as en } from ${JSON.stringify(en)};\n`,
      resolveDir: dirname(en),
      loader: "js",
    }));
    // Every other package stays external (what `packages: "external"` did).
    b.onResolve({ filter: /^[^./]/ }, (a) =>
      /^zod(\/|$)/.test(a.path) ? undefined : { path: a.path, external: true },
    );
  },
};

/** The esbuild options of one self-contained bundle (the drain benchmark bundles its agent half with them). */
export function bundleOptions(entry, outfile) {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    plugins: [zodInline],
    sourcemap: true,
    logLevel: "warning",
  };
}

/**
 * Builds the CLI (OUTFILE) and the gateway entry (OUTFILE's name + `-agent`) beside it, split into
 * chunks; returns OUTFILE. With `metafile`, also writes esbuild's metafile to `meta.json` beside them
 * (which source files went into which output, and which output imports which).
 */
export async function buildCli(outfile = CLI_OUTFILE, opts = {}) {
  const outdir = dirname(outfile);
  const name = basename(outfile).replace(/\.mjs$/, "");
  const { entryPoints: _e, outfile: _o, ...common } = bundleOptions("", outfile);
  const r = await build({
    ...common,
    entryPoints: {
      [name]: join(ROOT, "agent/entry.ts"),
      [`${name}-agent`]: join(ROOT, "agent/agent-entry.ts"),
    },
    outdir,
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    outExtension: { ".js": ".mjs" },
    metafile: true,
  });
  for (const out of Object.keys(r.metafile.outputs)) if (out.endsWith(".mjs")) asciiOnly(resolve(out));
  if (opts.metafile) writeFileSync(join(outdir, "meta.json"), JSON.stringify(r.metafile));
  return outfile;
}

/**
 * esbuild escapes non-ASCII characters in strings and names (its default `charset`), but not in
 * comments or regular expression literals, and V8 holds a module's source as UTF-16 (twice the
 * bytes) if one character of it is not Latin-1: a single dash in a zod comment doubled a 391 kB
 * chunk on the agent's heap. Each such character becomes its `\uXXXX` escape, which means the same
 * in a regular expression (`[%\u00b0]`) and in a string, and is only text in a comment.
 */
export function asciiEscaped(text) {
  return text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function asciiOnly(file) {
  const text = readFileSync(file, "utf8");
  const escaped = asciiEscaped(text);
  if (escaped !== text) writeFileSync(file, escaped);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const out = await buildCli(process.argv[2] ? resolve(process.argv[2]) : CLI_OUTFILE);
  process.stdout.write(`built ${out} and ${out.replace(/\.mjs$/, "-agent.mjs")}\n`);
}

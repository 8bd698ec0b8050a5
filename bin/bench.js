#!/usr/bin/env node
// `npm run bench [-- NAME…]`: runs bench/NAME.ts (all of bench/*.ts without a name) through tsx.
// Each module exports `benchName()` resolving to lines {bench, metric, value, unit, baseline?, ratio?}:
// one JSON object per line on stdout, a readable table on stderr.
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { register } from "tsx/esm/api";

register();
const dir = join(dirname(fileURLToPath(import.meta.url)), "../bench");
// long benches that run only when named, like the kebab-case ones (adapt: ~15 min of training)
const namedOnly = new Set(["adapt"]);
const all = readdirSync(dir)
  .filter(
    (f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.includes("-") && !namedOnly.has(f.slice(0, -3)),
  )
  .map((f) => f.slice(0, -3))
  .sort();
const names = process.argv.slice(2).filter((a) => !a.startsWith("-"));
// a kebab-case bench (bench/faces-real.ts, bench/big-barn.ts) runs only when named: `npm run bench`
// alone skips it (faces-real needs a dev set; big-barn runs agents for minutes)
const named = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
  .map((f) => f.slice(0, -3));
const unknown = names.filter((n) => !named.includes(n));
if (unknown.length) {
  process.stderr.write(`unknown bench ${unknown.join(", ")}; there are: ${named.sort().join(", ")}\n`);
  process.exit(2);
}
const fmt = (v) =>
  typeof v === "number"
    ? Math.abs(v) >= 100
      ? Math.round(v).toLocaleString("en")
      : String(Number(v.toPrecision(3)))
    : (v ?? "");
let failed = 0;
for (const name of names.length ? names : all) {
  const mod = await import(pathToFileURL(join(dir, `${name}.ts`)).href);
  const fnName = `bench${name.replace(/(^|-)(\w)/g, (_, _d, c) => c.toUpperCase())}`;
  const fn = mod[fnName];
  if (typeof fn !== "function") {
    process.stderr.write(`bench/${name}.ts exports no ${fnName}()\n`);
    failed++;
    continue;
  }
  const rows = [];
  try {
    for (const line of await fn()) {
      process.stdout.write(`${JSON.stringify(line)}\n`);
      rows.push([line.bench, line.metric, fmt(line.value), line.unit, fmt(line.baseline), fmt(line.ratio)]);
    }
  } catch (e) {
    process.stderr.write(`bench ${name} failed: ${e?.stack ?? e}\n`);
    failed++;
  }
  const head = ["bench", "metric", "value", "unit", "baseline", "ratio"];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  for (const r of [head, ...rows])
    process.stderr.write(
      `${r.map((c, i) => (i < 2 || i === 3 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join("  ")}\n`,
    );
  process.stderr.write("\n");
}
process.exit(failed ? 1 : 0);

// The process entry of the `barnlink` command: bin/barnlink.js imports it through tsx (development),
// `npm run build` bundles it into dist/barnlink.mjs (production, plain node).
import { main } from "./cli.ts";
import { commands } from "./commands/index.ts";

const code = await main(process.argv.slice(2), commands);
process.exitCode = code;
// A command that has returned is done: a handle left open somewhere must not keep the process alive.
setTimeout(() => process.exit(code), 3000).unref();

#!/usr/bin/env node
// Runs the TypeScript sources through tsx's loader, so there is no build step to forget.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../agent/cli.ts");
const code = await main(process.argv.slice(2));
process.exitCode = code;
// A command that has returned is done: a handle left open somewhere must not keep the process alive.
setTimeout(() => process.exit(code), 3000).unref();

#!/usr/bin/env node
// Development entry: runs the TypeScript sources through tsx's loader, so there is no build step to
// forget. Production runs the bundle instead (`npm run build`, then `node dist/barnlink.mjs`): the same
// agent/entry.ts without tsx's loader (~30 MB less RSS, faster start on a Pi).
import { register } from "tsx/esm/api";

register();
await import("../agent/entry.ts");

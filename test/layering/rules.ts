/**
 * What each folder may import: the one place the layering rules live. test/layering/layering.test.ts
 * reads every import of every source file against them, and checks that each folder's README names
 * what its rule allows. The most specific rule (longest `path`) applies to a file. Tests (`*.test.ts`, any
 * `test/` folder) and `bench/` may import anything.
 */
export interface LayerRule {
  /** A folder (ending in `/`) or a file, relative to the repository root. */
  path: string;
  /** Repository folders or files it may import (its own folder always). */
  mayImport: string[];
  /** npm packages it may import besides Node built-ins; omitted: any. */
  packages?: string[];
  /** The README whose "May import" paragraph must name every entry of mayImport. */
  readme?: string;
}

export const LAYERS: LayerRule[] = [
  { path: "core/", mayImport: [], packages: ["zod", "yaml", "pino"], readme: "core/README.md" },
  { path: "sync/", mayImport: ["core/"], readme: "sync/README.md" },
  { path: "drivers/", mayImport: ["core/"], readme: "drivers/README.md" },
  { path: "drivers/faces/", mayImport: ["core/", "drivers/", "models/"] },
  {
    path: "models/",
    mayImport: [
      "core/",
      "drivers/types.ts",
      "drivers/camera-types.ts",
      "sync/kinds.ts",
      "sync/model-package.ts",
    ],
    readme: "models/README.md",
  },
  { path: "cloud/", mayImport: ["core/", "sync/"], readme: "cloud/README.md" },
  {
    path: "cloud/enrol/",
    mayImport: [
      "core/",
      "sync/",
      "cloud/api/",
      "cloud/lending/openapi.ts",
      "cloud/broker/",
      "cloud/certs/",
      "cloud/db/",
      "cloud/devices.ts",
      "cloud/config.ts",
      "cloud/context.ts",
    ],
    readme: "cloud/enrol/README.md",
  },
  { path: "agent/", mayImport: ["core/", "sync/", "drivers/", "models/"], readme: "agent/README.md" },
  // The CLI commands that run cloud parts (cloud, devices, broker, demo) import cloud/.
  { path: "agent/commands/", mayImport: ["core/", "sync/", "drivers/", "models/", "agent/", "cloud/"] },
  { path: "agent/demo/", mayImport: ["core/", "sync/", "drivers/", "models/", "agent/", "cloud/"] },
  { path: "agent/cli.ts", mayImport: ["core/", "sync/", "drivers/", "models/", "agent/", "cloud/"] },
  { path: "bin/", mayImport: ["core/", "sync/", "drivers/", "models/", "agent/", "cloud/"] },
];

/** Files from which no cloud/ file may be reached through static imports: a gateway never runs cloud code. */
export const GATEWAY_ROOTS = ["agent/agent.ts", "agent/commands/agent-run.ts", "agent/commands/provision.ts"];

import { z } from "zod";

/**
 * Every key path of a config schema (`cloud.mqtt.url`, `tokens[].role`), with its default where it
 * has one. docs/configuration.md is checked against this so the reference cannot drift from code.
 * Paths under `stopAt` (e.g. `sources`, documented per driver) are not descended into.
 */
export function schemaKeys(
  schema: z.ZodType,
  stopAt: string[] = [],
): Array<{ path: string; default?: unknown }> {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  const out: Array<{ path: string; default?: unknown }> = [];
  const walk = (node: Record<string, unknown> | undefined, path: string) => {
    if (!node || typeof node !== "object") return;
    if (stopAt.includes(path)) return;
    for (const alt of [
      ...((node.anyOf as unknown[]) ?? []),
      ...((node.oneOf as unknown[]) ?? []),
      ...((node.allOf as unknown[]) ?? []),
    ]) {
      walk(alt as Record<string, unknown>, path);
    }
    if (node.type === "array" && node.items) walk(node.items as Record<string, unknown>, `${path}[]`);
    const props = node.properties as Record<string, Record<string, unknown>> | undefined;
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        const p = path ? `${path}.${k}` : k;
        if (!out.some((o) => o.path === p))
          out.push({ path: p, ...(v.default !== undefined ? { default: v.default } : {}) });
        walk(v, p);
      }
    }
  };
  walk(json, "");
  return out;
}

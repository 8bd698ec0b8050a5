import type { z } from "zod";
import { formatPath } from "../../core/config.ts";
import { ERR_VALIDATION } from "../../core/errors.ts";

/** Parses a request part (body, query, params) with a zod schema; a 400 names the first bad field. */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown, where = "body"): z.output<S> {
  const r = schema.safeParse(value, { reportInput: true });
  if (r.success) return r.data;
  const msgs = r.error.issues.map((i) =>
    `${where}.${formatPath(i.path).replace(/^\(root\)$/, "")}: ${i.message}`.replace(".:", ":"),
  );
  throw ERR_VALIDATION(msgs.join("; "), r.error.issues);
}

import Ajv2020 from "ajv/dist/2020.js";

/**
 * The problems of an OpenAPI 3.1 document, as "where: what" lines (none: valid). Checks what the
 * specification requires of the objects barnlink writes (OpenAPI 3.1.0 §4.8: OpenAPI, Info, Paths,
 * Path Item, Operation, Parameter, Request Body, Responses, Security Requirement) and that every
 * schema is valid JSON Schema 2020-12 (the 3.1 dialect) by compiling it. Not the official meta-schema
 * (no package here ships it offline), so written to be strict rather than complete.
 */
export function openApiProblems(doc: Record<string, unknown>): string[] {
  const bad: string[] = [];
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true, validateFormats: false });
  // biome-ignore lint/suspicious/noExplicitAny: the document is read as untyped JSON
  const isObj = (v: unknown): v is Record<string, any> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  const refTarget = (ref: string): unknown =>
    ref.startsWith("#/")
      ? ref
          .slice(2)
          .split("/")
          .reduce<unknown>(
            (o, k) => (isObj(o) ? o[k.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined),
            doc,
          )
      : undefined;
  /** Components' schemas inlined, so each schema compiles on its own. */
  const inline = (s: unknown): unknown => {
    if (Array.isArray(s)) return s.map(inline);
    if (!isObj(s)) return s;
    if (typeof s.$ref === "string" && s.$ref.startsWith("#/components/")) return inline(refTarget(s.$ref));
    return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, inline(v)]));
  };
  const schema = (where: string, s: unknown) => {
    if (!isObj(s) && typeof s !== "boolean") return void bad.push(`${where}: a schema must be an object`);
    try {
      ajv.compile(inline(s) as object);
    } catch (e) {
      bad.push(`${where}: ${(e as Error).message}`);
    }
  };
  const content = (where: string, c: unknown) => {
    if (!isObj(c) || Object.keys(c).length === 0)
      return void bad.push(`${where}: content needs a media type`);
    for (const [type, m] of Object.entries(c)) {
      if (!/^[\w.+-]+\/[\w.+*-]+$/.test(type)) bad.push(`${where}: '${type}' is not a media type`);
      if (isObj(m) && "schema" in m) schema(`${where}.${type}`, m.schema);
    }
  };
  // Every $ref resolves inside the document.
  const refs = (v: unknown, where: string) => {
    if (Array.isArray(v)) for (const [i, x] of v.entries()) refs(x, `${where}[${i}]`);
    else if (isObj(v))
      for (const [k, x] of Object.entries(v))
        if (k === "$ref" && typeof x === "string" && refTarget(x) === undefined)
          bad.push(`${where}: $ref ${x} resolves to nothing`);
        else refs(x, `${where}.${k}`);
  };
  refs(doc, "#");

  if (typeof doc.openapi !== "string" || !/^3\.1\.\d+$/.test(doc.openapi)) bad.push("openapi: must be 3.1.x");
  const info = doc.info;
  if (!isObj(info) || typeof info.title !== "string" || typeof info.version !== "string")
    bad.push("info: needs a title and a version (strings)");
  const components = isObj(doc.components) ? doc.components : {};
  const schemes = isObj(components.securitySchemes) ? components.securitySchemes : {};
  for (const [name, s] of Object.entries(isObj(components.schemas) ? components.schemas : {}))
    schema(`components.schemas.${name}`, s);
  if (!isObj(doc.paths)) return [...bad, "paths: must be an object"];
  const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
  const PATH_ITEM = new Set([...METHODS, "$ref", "summary", "description", "servers", "parameters"]);
  const OPERATION = new Set(
    "tags summary description externalDocs operationId parameters requestBody responses callbacks deprecated security servers".split(
      " ",
    ),
  );
  const operationIds = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!path.startsWith("/")) bad.push(`${path}: a path starts with /`);
    if (!isObj(item)) {
      bad.push(`${path}: a path item must be an object`);
      continue;
    }
    const template = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    for (const [key, op] of Object.entries(item)) {
      const at = `${key.toUpperCase()} ${path}`;
      if (!PATH_ITEM.has(key) && !key.startsWith("x-"))
        bad.push(`${path}: '${key}' is not a path item field`);
      if (!METHODS.includes(key) || !isObj(op)) continue;
      for (const f of Object.keys(op))
        if (!OPERATION.has(f) && !f.startsWith("x-")) bad.push(`${at}: '${f}' is not an operation field`);
      if (op.operationId !== undefined) {
        if (operationIds.has(op.operationId)) bad.push(`${at}: operationId ${op.operationId} is not unique`);
        operationIds.add(op.operationId);
      }
      // biome-ignore lint/suspicious/noExplicitAny: the document is read as untyped JSON
      const params = (op.parameters ?? []) as Array<Record<string, any>>;
      if (!Array.isArray(params)) bad.push(`${at}: parameters must be a list`);
      const seen = new Set<string>();
      for (const p of params) {
        const name = `${at} parameter ${p.name}`;
        if (typeof p.name !== "string" || !["query", "header", "path", "cookie"].includes(p.in))
          bad.push(`${name}: needs a name and in (query, header, path, cookie)`);
        if (seen.has(`${p.in}:${p.name}`)) bad.push(`${name}: listed twice`);
        seen.add(`${p.in}:${p.name}`);
        if (p.in === "path" && p.required !== true) bad.push(`${name}: a path parameter is required: true`);
        if (p.in === "path" && !template.includes(p.name)) bad.push(`${name}: not in the path template`);
        if ("schema" in p === "content" in p) bad.push(`${name}: needs exactly one of schema, content`);
        if ("schema" in p) schema(name, p.schema);
      }
      for (const t of template)
        if (!params.some((p) => p.in === "path" && p.name === t))
          bad.push(`${at}: path parameter {${t}} is not described`);
      if (op.requestBody !== undefined) {
        if (!isObj(op.requestBody)) bad.push(`${at}: requestBody must be an object`);
        else content(`${at} requestBody`, op.requestBody.content);
      }
      if (!isObj(op.responses) || Object.keys(op.responses).length === 0)
        bad.push(`${at}: needs at least one response`);
      for (const [status, r] of Object.entries(isObj(op.responses) ? op.responses : {})) {
        if (!/^(default|[1-5](\d\d|XX))$/.test(status))
          bad.push(`${at}: '${status}' is not a response status`);
        if (isObj(r) && typeof r.$ref === "string") continue; // a Reference Object (checked above)
        if (!isObj(r) || typeof r.description !== "string")
          bad.push(`${at} ${status}: a response needs a description`);
        else if (r.content !== undefined) content(`${at} ${status}`, r.content);
      }
      if (!Object.keys(op.responses ?? {}).some((s) => /^2(\d\d|XX)$/.test(s)))
        bad.push(`${at}: no success response`);
      for (const req of (op.security ?? []) as Array<Record<string, unknown>>)
        for (const name of Object.keys(req))
          if (!(name in schemes)) bad.push(`${at}: security scheme '${name}' is not defined`);
    }
  }
  return bad;
}

import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { ERR_FORBIDDEN, ERR_UNAUTHORIZED } from "../../core/errors.ts";

/** API roles: admin (everything), officer (lending decisions and overrides), auditor (read-only). */
export type Role = "admin" | "officer" | "auditor";

export interface ApiToken {
  name: string;
  role: Role;
  /** SHA-256 of the token, hex. The config may give the token itself (`token`) or only its hash. */
  sha256: string;
}

export interface Principal {
  name: string;
  role: Role;
}

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Finds the principal for an `Authorization: Bearer …` header, comparing hashes in constant time. */
export function authenticate(tokens: ApiToken[], header: string | undefined): Principal | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!m) return null;
  const h = Buffer.from(hashToken(m[1]!), "hex");
  for (const t of tokens) {
    const th = Buffer.from(t.sha256, "hex");
    if (th.length === h.length && timingSafeEqual(th, h)) return { name: t.name, role: t.role };
  }
  return null;
}

/** API tokens kept in the database (cloud/enrol/api-tokens.ts); throws for an expired or revoked one. */
export interface TokenStore {
  principal(token: string): Promise<Principal | null>;
}

const resolved = new WeakMap<FastifyRequest, Promise<Principal | Error | null>>();

/**
 * Who a request is: a config token (constant-time hash compare), else a database token. Looked up
 * once per request (the rate limit's allow-list and the auth hook both ask). An Error: a token that
 * exists but has expired or was revoked.
 */
export function resolvePrincipal(
  req: FastifyRequest,
  tokens: ApiToken[],
  store?: TokenStore,
): Promise<Principal | Error | null> {
  let p = resolved.get(req);
  if (!p) {
    const header = req.headers.authorization;
    const fromConfig = authenticate(tokens, header);
    const bearer = header ? /^Bearer\s+(\S+)$/i.exec(header.trim())?.[1] : undefined;
    p =
      fromConfig || !store || !bearer
        ? Promise.resolve(fromConfig)
        : store.principal(bearer).catch((e: unknown) => (e instanceof Error ? e : null));
    resolved.set(req, p);
  }
  return p;
}

/** A Fastify hook that requires a valid token (401 otherwise, with the expired/revoked code if so). */
export function requireAuth(tokens: ApiToken[], store?: TokenStore) {
  return async (req: FastifyRequest, _reply: FastifyReply) => {
    const p = await resolvePrincipal(req, tokens, store);
    if (p instanceof Error) throw p;
    if (!p) throw ERR_UNAUTHORIZED("missing or invalid bearer token (send 'Authorization: Bearer <token>')");
    req.principal = p;
  };
}

/** A preHandler that allows only the given roles (403 otherwise). Admin is always allowed. */
export function requireRole(...roles: Role[]) {
  return async (req: FastifyRequest, _reply: FastifyReply) => {
    const p = req.principal;
    if (!p) throw ERR_UNAUTHORIZED("missing or invalid bearer token");
    if (p.role !== "admin" && !roles.includes(p.role)) {
      throw ERR_FORBIDDEN(
        `role '${p.role}' may not ${req.method} ${req.routeOptions.url ?? req.url}; needs ${roles.join(" or ")}`,
      );
    }
  };
}

import { timingSafeEqual } from "node:crypto";
import type { Db } from "../db/connect.ts";
import type { BrokerPrincipal } from "./acl.ts";
import { hasLiveCredential, verifyDeviceSecret } from "./credentials.ts";

export interface StaticAccount {
  username: string;
  password: string;
  kind: "cloud" | "admin";
}

/** How the embedded broker decides who a client is (null: refused). */
export interface BrokerAuth {
  authenticate(username: string | undefined, password: Buffer | undefined): Promise<BrokerPrincipal | null>;
  /** Whether a connected principal may stay (a revoked device may not); checked periodically. */
  stillAllowed?(p: BrokerPrincipal): Promise<boolean>;
}

const same = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * Static accounts (the cloud's ingest, operators) from configuration, then devices from the
 * cloud's registry. The registry is attached once the cloud's database is open (`attach`), since
 * the demo starts the broker first; until then only the static accounts get in.
 */
export class RegistryAuth implements BrokerAuth {
  private db?: Db;
  constructor(
    private readonly accounts: StaticAccount[],
    private readonly now: () => number = Date.now,
  ) {}
  /** A static account's password (the demo hands it to the cloud it starts). */
  passwordOf(username: string): string | undefined {
    return this.accounts.find((a) => a.username === username)?.password;
  }
  attach(db: Db) {
    this.db = db;
  }
  async authenticate(username: string | undefined, password: Buffer | undefined) {
    if (!username || !password || password.length > 1024) return null;
    const pw = password.toString("utf8");
    for (const a of this.accounts)
      if (a.username === username) return same(a.password, pw) ? { kind: a.kind, username } : null;
    if (!this.db) return null;
    return (await verifyDeviceSecret(this.db, username, pw, this.now()))
      ? ({ kind: "device", username } as const)
      : null;
  }
  /** A device stays connected while it is registered, unrevoked and holds a live broker credential. */
  async stillAllowed(p: BrokerPrincipal): Promise<boolean> {
    if (p.kind !== "device" || !this.db) return true;
    return hasLiveCredential(this.db, p.username, this.now());
  }
}

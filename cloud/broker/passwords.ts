import { pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Broker passwords, hashed in Mosquitto 2's own password-file format (PBKDF2-SHA512):
 *
 *   $7$<iterations>$<base64 salt>$<base64 64-byte derived key>
 *
 * so the cloud stores only hashes and `barnlink broker-config mosquitto` writes them into a
 * password file as they are (mosquitto_passwd's format, mosquitto/src/password_mosq.c). The
 * secrets themselves are 256-bit random values, so the iteration count (Mosquitto's default 101)
 * is not what protects them; they are never guessable.
 */
export const PBKDF2_ITERATIONS = 101;

export function hashPassword(
  password: string,
  salt = randomBytes(12),
  iterations = PBKDF2_ITERATIONS,
): string {
  const dk = pbkdf2Sync(Buffer.from(password, "utf8"), salt, iterations, 64, "sha512");
  return `$7$${iterations}$${salt.toString("base64")}$${dk.toString("base64")}`;
}

export function verifyPassword(password: string, hash: string): boolean {
  const m = /^\$7\$(\d{1,7})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(hash);
  if (!m) return false;
  const want = Buffer.from(m[3]!, "base64");
  const got = pbkdf2Sync(
    Buffer.from(password, "utf8"),
    Buffer.from(m[2]!, "base64"),
    Number(m[1]),
    want.length,
    "sha512",
  );
  return got.length === want.length && timingSafeEqual(got, want);
}

/** A new broker secret: 32 random bytes, base64url (43 characters, no ':' so it fits a password file). */
export const newSecret = () => randomBytes(32).toString("base64url");

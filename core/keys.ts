import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { strictBase64 } from "./canonical.ts";
import { ERR_KEY } from "./errors.ts";

/** An Ed25519 key pair. Public keys travel as base64 of the raw 32 bytes. */
export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicKeyB64: string;
}

const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export function rawPublicKey(pub: KeyObject): Buffer {
  const der = pub.export({ format: "der", type: "spki" });
  return der.subarray(der.length - 32);
}

export function publicKeyFromB64(b64: string): KeyObject {
  const raw = strictBase64(b64);
  if (!raw) throw ERR_KEY("public key is not canonical base64");
  if (raw.length !== 32) throw ERR_KEY(`public key must be 32 bytes of base64, got ${raw.length} bytes`);
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: "der", type: "spki" });
}

export function generateKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privateKey, publicKey, publicKeyB64: rawPublicKey(publicKey).toString("base64") };
}

/**
 * Loads the Ed25519 key at `file` (PKCS#8 PEM), creating it with mode 0600 on first start.
 * Refuses a key file that others can read: a leaked device key lets anyone forge its evidence.
 */
export function loadOrCreateKey(file: string): KeyPair & { created: boolean } {
  if (existsSync(file)) {
    const mode = statSync(file).mode & 0o777;
    if (process.platform !== "win32" && (mode & 0o077) !== 0) {
      throw ERR_KEY(`${file}: key file mode is ${mode.toString(8)}; it must be 600 (run: chmod 600 ${file})`);
    }
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(readFileSync(file));
    } catch (e) {
      throw ERR_KEY(`${file}: not a readable private key (${(e as Error).message})`);
    }
    if (privateKey.asymmetricKeyType !== "ed25519") throw ERR_KEY(`${file}: expected an Ed25519 key`);
    const publicKey = createPublicKey(privateKey);
    return {
      privateKey,
      publicKey,
      publicKeyB64: rawPublicKey(publicKey).toString("base64"),
      created: false,
    };
  }
  mkdirSync(dirname(file), { recursive: true });
  const kp = generateKeyPair();
  writeFileSync(file, kp.privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600, flag: "wx" });
  chmodSync(file, 0o600);
  return { ...kp, created: true };
}

export function signBytes(key: KeyObject, data: Buffer): Buffer {
  return sign(null, data, key);
}

export function verifyBytes(key: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    return verify(null, data, key, signature);
  } catch {
    return false;
  }
}

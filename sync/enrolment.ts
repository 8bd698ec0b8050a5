import { createHash } from "node:crypto";
import { canonicalBytes } from "../core/canonical.ts";

/**
 * What a gateway signs to enrol or to rotate its key (docs/security.md, "Provisioning"). Both sides
 * build these bytes: the gateway (`barnlink provision`, `barnlink keys rotate`) signs them with its
 * Ed25519 device key, the cloud (cloud/enrol/) verifies them. Canonical JSON, so the order of
 * fields cannot matter; `at` bounds how long a captured request could be replayed (the token is
 * single-use anyway).
 */
export interface EnrolRequest {
  device: string;
  token: string;
  /** The device's Ed25519 public key, base64 of 32 bytes. */
  publicKey: string;
  /** A PKCS#10 request (PEM) for a broker client certificate, made on the gateway. */
  csr?: string;
  at: number;
  /** Ed25519 signature (base64) of `enrolProof(...)` by the key in `publicKey`. */
  signature: string;
}

export interface RotateRequest {
  device: string;
  /** The new Ed25519 public key. */
  publicKey: string;
  at: number;
  /** Ed25519 signature (base64) of `rotateProof(...)` by the device's current key. */
  signature: string;
  /** The same bytes signed by the new key: proof the device holds it. */
  newSignature: string;
}

/** Requests older or newer than this (cloud clock) are refused as stale. */
export const PROOF_MAX_SKEW_MS = 10 * 60_000;

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

export function enrolProof(r: Omit<EnrolRequest, "signature">): Buffer {
  return canonicalBytes({
    v: 1,
    type: "barnlink-enrol",
    device: r.device,
    token: sha256(r.token),
    publicKey: r.publicKey,
    csr: r.csr === undefined ? null : sha256(r.csr),
    at: r.at,
  });
}

export function rotateProof(r: Omit<RotateRequest, "signature" | "newSignature">): Buffer {
  return canonicalBytes({
    v: 1,
    type: "barnlink-rotate",
    device: r.device,
    publicKey: r.publicKey,
    at: r.at,
  });
}

/** What the cloud answers an enrolment or rotation with: all the gateway needs to connect. */
export interface EnrolAnswer {
  device: string;
  /** The cloud's Ed25519 public key (the agent's cloud.publicKey). */
  cloudPublicKey: string;
  /** The device's registered public key. */
  publicKey: string;
  mqtt: { url?: string; username: string; password: string };
  /** With a CSR: the client certificate (PEM) signed by the deployment CA, and the CA (PEM). */
  certificate?: string;
  ca?: string;
  /** Rotation: the old key and broker password keep working until then (ms since epoch). */
  overlapUntil?: number;
}

import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";

// A PKCS#10 certificate request (RFC 2986) for an ECDSA P-256 key, DER-encoded by hand so a gateway
// needs no X.509 library: node's crypto makes the key and the signature, this builds the few
// structures around them. The cloud checks it with @peculiar/x509 (cloud/certs/ca.ts).

function der(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  const len =
    n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}
const seq = (...p: Buffer[]) => der(0x30, ...p);
// 2.5.4.3 (commonName) and 1.2.840.10045.4.3.2 (ecdsa-with-SHA256), encoded.
const OID_CN = Buffer.from("0603550403", "hex");
const OID_ECDSA_SHA256 = Buffer.from("06082a8648ce3d040302", "hex");

/** A CSR with subject CN=`cn` signed by `key` (an EC P-256 private key), as PEM. */
export function csrPem(cn: string, key: KeyObject): string {
  const pub = createPublicKey(key).export({ format: "der", type: "spki" });
  const subject = seq(der(0x31, seq(OID_CN, der(0x0c, Buffer.from(cn, "utf8")))));
  // version 0, subject, subjectPKInfo, attributes [0] (none)
  const info = seq(der(0x02, Buffer.from([0])), subject, pub, Buffer.from([0xa0, 0x00]));
  const sig = sign("sha256", info, { key, dsaEncoding: "der" });
  const csr = seq(info, seq(OID_ECDSA_SHA256), der(0x03, Buffer.from([0]), sig));
  const b64 = csr.toString("base64").replace(/(.{64})/g, "$1\n");
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64.trimEnd()}\n-----END CERTIFICATE REQUEST-----\n`;
}

/** A new P-256 key for a TLS client certificate (PKCS#8 PEM) and its CSR. */
export function newTlsKeyAndCsr(cn: string): { keyPem: string; csrPem: string } {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return {
    keyPem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    csrPem: csrPem(cn, privateKey),
  };
}

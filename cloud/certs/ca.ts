import "reflect-metadata";
import { randomBytes, webcrypto } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";
import { ERR_CERT } from "./errors.ts";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const subtle = webcrypto.subtle as unknown as SubtleCrypto;
const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY = 86_400_000;

export interface IssuedCert {
  serial: string;
  kind: "server" | "device";
  cn: string;
  notAfter: string;
  revokedAt: string | null;
}

/**
 * A small certificate authority for one deployment, in a folder: ca.key (0600), ca.pem, index.json
 * (what was issued, what is revoked), crl.pem, and issued/<serial>.pem. ECDSA P-256 / SHA-256
 * (RFC 5480, RFC 5280 profiles) with @peculiar/x509. A real CA can take its place: Mosquitto and
 * the agents need only its CA file and the certificates it signs (docs/security.md).
 */
export class DeploymentCa {
  private constructor(
    readonly dir: string,
    private readonly key: CryptoKey,
    readonly cert: x509.X509Certificate,
  ) {}

  static async create(dir: string, name = "barnlink deployment CA", days = 3650): Promise<DeploymentCa> {
    if (existsSync(join(dir, "ca.key"))) throw ERR_CERT(`${dir} already holds a CA (ca.key)`);
    mkdirSync(join(dir, "issued"), { recursive: true });
    const keys = (await subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=${name}`,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + days * DAY),
      signingAlgorithm: ALG,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    writeFileSync(join(dir, "ca.key"), await keyPem(keys.privateKey), { mode: 0o600 });
    writeFileSync(join(dir, "ca.pem"), cert.toString("pem"));
    writeFileSync(join(dir, "index.json"), "[]\n");
    const ca = new DeploymentCa(dir, keys.privateKey, cert);
    await ca.writeCrl();
    return ca;
  }

  static async open(dir: string): Promise<DeploymentCa> {
    if (!existsSync(join(dir, "ca.key")))
      throw ERR_CERT(`no CA in ${dir}: run \`barnlink certs init --dir ${dir}\``);
    const pem = readFileSync(join(dir, "ca.key"), "utf8");
    const key = await subtle.importKey("pkcs8", x509.PemConverter.decodeFirst(pem), ALG, false, ["sign"]);
    return new DeploymentCa(dir, key, new x509.X509Certificate(readFileSync(join(dir, "ca.pem"), "utf8")));
  }

  list(): IssuedCert[] {
    return JSON.parse(readFileSync(join(this.dir, "index.json"), "utf8")) as IssuedCert[];
  }

  /**
   * Issues a certificate. With `csrPem` (a device's request) the key stays where it was made and
   * only the CSR's own signature and subject are checked; without, a key pair is made here and
   * returned (server certificates, or devices set up by an installer).
   */
  async issue(o: {
    kind: "server" | "device";
    cn: string;
    hosts?: string[];
    csrPem?: string;
    days?: number;
  }): Promise<{ serial: string; certPem: string; keyPem?: string }> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(o.cn)) throw ERR_CERT(`bad common name '${o.cn}'`);
    let publicKey: CryptoKey;
    let keyOut: string | undefined;
    if (o.csrPem) {
      let csr: x509.Pkcs10CertificateRequest;
      try {
        csr = new x509.Pkcs10CertificateRequest(o.csrPem);
      } catch (e) {
        throw ERR_CERT(`not a PEM certificate request: ${(e as Error).message}`);
      }
      if (!(await csr.verify()))
        throw ERR_CERT("the CSR's signature does not verify (no proof of possession)");
      if (csr.subjectName.getField("CN")[0] !== o.cn)
        throw ERR_CERT(`the CSR names CN=${csr.subjectName.getField("CN")[0]}, expected CN=${o.cn}`);
      publicKey = await csr.publicKey.export(ALG, ["verify"]);
    } else {
      const kp = (await subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
      publicKey = kp.publicKey;
      keyOut = await keyPem(kp.privateKey);
    }
    const sn = serial();
    const hosts = o.hosts ?? [];
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: sn,
      subject: `CN=${o.cn}`,
      issuer: this.cert.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + (o.days ?? 825) * DAY),
      signingAlgorithm: ALG,
      publicKey,
      signingKey: this.key,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement,
          true,
        ),
        new x509.ExtendedKeyUsageExtension([
          o.kind === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
        ]),
        ...(hosts.length
          ? [
              new x509.SubjectAlternativeNameExtension(
                hosts.map((h) => ({
                  type: /^[\d.]+$|:/.test(h) ? ("ip" as const) : ("dns" as const),
                  value: h,
                })),
              ),
            ]
          : []),
        await x509.AuthorityKeyIdentifierExtension.create(this.cert),
      ],
    });
    const certPem = cert.toString("pem");
    writeFileSync(join(this.dir, "issued", `${sn}.pem`), certPem);
    const index = this.list();
    index.push({
      serial: sn,
      kind: o.kind,
      cn: o.cn,
      notAfter: cert.notAfter.toISOString(),
      revokedAt: null,
    });
    writeFileSync(join(this.dir, "index.json"), `${JSON.stringify(index, null, 2)}\n`);
    return { serial: sn, certPem, keyPem: keyOut };
  }

  /** Marks a certificate revoked and rewrites crl.pem (Mosquitto's `crlfile`). */
  async revoke(sn: string): Promise<IssuedCert> {
    const index = this.list();
    const c = index.find((i) => i.serial === sn);
    if (!c) throw ERR_CERT(`no certificate with serial ${sn} was issued by this CA`);
    c.revokedAt ??= new Date().toISOString();
    writeFileSync(join(this.dir, "index.json"), `${JSON.stringify(index, null, 2)}\n`);
    await this.writeCrl();
    return c;
  }

  private async writeCrl() {
    const revoked = this.list().filter((c) => c.revokedAt);
    const crl = await x509.X509CrlGenerator.create({
      issuer: this.cert.subject,
      thisUpdate: new Date(Date.now() - 60_000),
      nextUpdate: new Date(Date.now() + 30 * DAY),
      signingAlgorithm: ALG,
      signingKey: this.key,
      entries: revoked.map((c) => ({ serialNumber: c.serial, revocationDate: new Date(c.revokedAt!) })),
      extensions: [await x509.AuthorityKeyIdentifierExtension.create(this.cert)],
    });
    // OpenSSL (Mosquitto's crlfile) reads only the "X509 CRL" PEM label (RFC 7468 §5).
    writeFileSync(join(this.dir, "crl.pem"), x509.PemConverter.encode(crl.rawData, "X509 CRL"));
  }
}

/** A key pair and CSR made on the gateway: the private key never leaves it. */
export async function createCsr(cn: string): Promise<{ csrPem: string; keyPem: string }> {
  const keys = (await subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${cn}`,
    keys,
    signingAlgorithm: ALG,
  });
  return { csrPem: csr.toString("pem"), keyPem: await keyPem(keys.privateKey) };
}

// Positive, 16 random bytes (RFC 5280 §4.1.2.2: at most 20 octets, non-negative).
const serial = () => `01${randomBytes(15).toString("hex")}`;

async function keyPem(k: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await subtle.exportKey("pkcs8", k), "PRIVATE KEY");
}

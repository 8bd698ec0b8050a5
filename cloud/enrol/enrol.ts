import type { Transaction } from "kysely";
import { publicKeyFromB64, verifyBytes } from "../../core/keys.ts";
import { type EnrolAnswer, type EnrolRequest, enrolProof, PROOF_MAX_SKEW_MS } from "../../sync/enrolment.ts";
import { issueBrokerSecret, revokeBrokerCredentials } from "../broker/credentials.ts";
import { DeploymentCa } from "../certs/ca.ts";
import type { Db } from "../db/connect.ts";
import type { DB } from "../db/schema.ts";
import { registerDevice } from "../devices.ts";
import { checkEnrolmentToken, useEnrolmentToken } from "./enrolment-tokens.ts";
import { ERR_ENROL_CERT, ERR_ENROL_PROOF } from "./errors.ts";

export interface EnrolSettings {
  cloudPublicKey: string;
  /** The broker URL gateways use (written into their config), when the cloud knows it. */
  mqttUrl?: string;
  /** The deployment CA's folder (`barnlink certs init`): with it, CSRs are signed. */
  caDir?: string;
  certDays?: number;
}

/** A Db whose queries run in the transaction `trx` (the registry helpers take a Db). */
export const inTransaction = (db: Db, trx: Transaction<DB>): Db => ({ ...db, kysely: trx });

/** A signature over `bytes` by the Ed25519 key `publicKeyB64`, checked; throws BL_ENROL_PROOF. */
export function checkProof(publicKeyB64: string, bytes: Buffer, signatureB64: string, what: string) {
  let key: ReturnType<typeof publicKeyFromB64>;
  try {
    key = publicKeyFromB64(publicKeyB64);
  } catch (e) {
    throw ERR_ENROL_PROOF(`publicKey: ${(e as Error).message}`);
  }
  const sig = Buffer.from(signatureB64, "base64");
  if (sig.length !== 64 || sig.toString("base64") !== signatureB64 || !verifyBytes(key, bytes, sig))
    throw ERR_ENROL_PROOF(`${what} does not verify`);
}

export function checkFresh(at: number, now: number) {
  if (Math.abs(now - at) > PROOF_MAX_SKEW_MS)
    throw ERR_ENROL_PROOF(
      `the request is stamped ${new Date(at).toISOString()}, more than ${PROOF_MAX_SKEW_MS / 60_000} min from the cloud's clock (check the gateway's clock)`,
    );
}

/**
 * A gateway's enrolment (`barnlink provision`): the token must be this device's, unused and
 * unexpired; the request must be signed by the key it registers (proof of possession) and fresh.
 * Then, in one transaction, the token is used up, the key registered, older broker logins revoked
 * and a new one issued, and a CSR (if sent) signed by the deployment CA. Any refusal leaves
 * nothing registered and the token unused.
 */
export async function enrol(db: Db, req: EnrolRequest, s: EnrolSettings, now: number): Promise<EnrolAnswer> {
  const token = await checkEnrolmentToken(db, req.token, req.device, now);
  checkFresh(req.at, now);
  const { signature, ...signed } = req;
  checkProof(req.publicKey, enrolProof(signed), signature, "the enrolment signature (by the device key)");
  if (req.csr !== undefined && !s.caDir)
    throw ERR_ENROL_CERT("this cloud has no deployment CA (enrol.caDir): enrol without a client certificate");
  const ca = req.csr !== undefined ? await DeploymentCa.open(s.caDir!) : undefined;
  return db.kysely.transaction().execute(async (trx) => {
    const t = inTransaction(db, trx);
    await useEnrolmentToken(t, token.id, now);
    await registerDevice(t, req.device, req.publicKey, null, now);
    await trx.deleteFrom("device_keys_retired").where("device", "=", req.device).execute();
    await revokeBrokerCredentials(t, req.device, now);
    const password = await issueBrokerSecret(t, req.device, now);
    const cert = ca
      ? await ca.issue({ kind: "device", cn: req.device, csrPem: req.csr, days: s.certDays })
      : undefined;
    return {
      device: req.device,
      cloudPublicKey: s.cloudPublicKey,
      publicKey: req.publicKey,
      mqtt: { ...(s.mqttUrl ? { url: s.mqttUrl } : {}), username: req.device, password },
      ...(cert && ca ? { certificate: cert.certPem, ca: ca.cert.toString("pem") } : {}),
    };
  });
}

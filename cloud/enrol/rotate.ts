import { ERR_NOT_FOUND } from "../../core/errors.ts";
import { type EnrolAnswer, type RotateRequest, rotateProof } from "../../sync/enrolment.ts";
import { rotateBrokerSecret } from "../broker/credentials.ts";
import type { Db } from "../db/connect.ts";
import { checkFresh, checkProof, inTransaction } from "./enrol.ts";
import { ERR_ENROL_PROOF } from "./errors.ts";

/**
 * A device replaces its key (`barnlink keys rotate`): the request is signed by its current key and
 * by the new one. The new key becomes current at once; the old one keeps verifying for `overlapMs`
 * (batches the gateway signed before it switched), and so does its old broker password; then only
 * the new. Asking again with the same new key (a gateway that crashed before saving the answer)
 * issues a fresh broker password and changes nothing else, as long as the old key's overlap lasts.
 */
export async function rotateKey(
  db: Db,
  req: RotateRequest,
  o: { cloudPublicKey: string; overlapMs: number; mqttUrl?: string },
  now: number,
): Promise<EnrolAnswer> {
  checkFresh(req.at, now);
  const dev = await db.kysely
    .selectFrom("devices")
    .select(["public_key", "revoked_at"])
    .where("id", "=", req.device)
    .executeTakeFirst();
  if (!dev || dev.revoked_at !== null)
    throw ERR_NOT_FOUND(`device '${req.device}' is not registered (or was revoked): enrol it again`);
  const { signature, newSignature, ...signed } = req;
  const bytes = rotateProof(signed);
  checkProof(req.publicKey, bytes, newSignature, "the signature by the new key");
  const until = now + o.overlapMs;
  return db.kysely.transaction().execute(async (trx) => {
    let overlapUntil = until;
    if (dev.public_key === req.publicKey) {
      // A retry: the old key must still be in its overlap and have signed this request.
      const old = await trx
        .selectFrom("device_keys_retired")
        .select(["public_key", "valid_until"])
        .where("device", "=", req.device)
        .where("valid_until", ">", now)
        .execute();
      const ok = old.find((k) => {
        try {
          checkProof(k.public_key, bytes, signature, "");
          return true;
        } catch {
          return false;
        }
      });
      if (!ok) throw ERR_ENROL_PROOF("the signature by the device's current key does not verify");
      overlapUntil = Number(ok.valid_until);
    } else {
      checkProof(dev.public_key, bytes, signature, "the signature by the device's current key");
      await trx
        .insertInto("device_keys_retired")
        .values({ device: req.device, public_key: dev.public_key, retired_at: now, valid_until: until })
        .onConflict((oc) => oc.columns(["device", "public_key"]).doUpdateSet({ valid_until: until }))
        .execute();
      await trx
        .updateTable("devices")
        .set({ public_key: req.publicKey })
        .where("id", "=", req.device)
        .execute();
    }
    const password = await rotateBrokerSecret(inTransaction(db, trx), req.device, now, overlapUntil - now);
    return {
      device: req.device,
      cloudPublicKey: o.cloudPublicKey,
      publicKey: req.publicKey,
      mqtt: { ...(o.mqttUrl ? { url: o.mqttUrl } : {}), username: req.device, password },
      overlapUntil,
    };
  });
}

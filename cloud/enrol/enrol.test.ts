import { describe, expect, it } from "vitest";
import { generateKeyPair, signBytes } from "../../core/keys.ts";
import { enrolProof, rotateProof } from "../../sync/enrolment.ts";
import { freshDb, postgresAvailable } from "../../test/helpers/services.ts";
import { verifyDeviceSecret } from "../broker/credentials.ts";
import { DeviceKeys } from "../devices.ts";
import { createApiToken, DbTokens, revokeApiToken } from "./api-tokens.ts";
import { enrol } from "./enrol.ts";
import { createEnrolmentToken } from "./enrolment-tokens.ts";
import { rotateKey } from "./rotate.ts";

/** The registry side of enrolment, rotation and API tokens on both databases (transactions, constraints). */
const here = { sqlite: true, postgres: await postgresAvailable() };

describe.each(["sqlite", "postgres"] as const)("enrolment and tokens on %s", (dialect) => {
  it.runIf(here[dialect])("enrols once, rotates with an overlap, refuses revoked tokens", async () => {
    const fresh = await freshDb(dialect);
    try {
      const { db } = fresh;
      const now = Date.now();
      const cloud = generateKeyPair();
      const key = generateKeyPair();
      const { token } = await createEnrolmentToken(
        db,
        { device: "barn-1", ttlMs: 60_000, createdBy: "t" },
        now,
      );
      const req = { device: "barn-1", token, publicKey: key.publicKeyB64, at: now };
      const signature = signBytes(key.privateKey, enrolProof(req)).toString("base64");
      const a = await enrol(db, { ...req, signature }, { cloudPublicKey: cloud.publicKeyB64 }, now);
      expect(a.mqtt.username).toBe("barn-1");
      expect(await verifyDeviceSecret(db, "barn-1", a.mqtt.password, now)).toBe(true);
      await expect(
        enrol(db, { ...req, signature }, { cloudPublicKey: cloud.publicKeyB64 }, now),
      ).rejects.toMatchObject({
        code: "BL_ENROL_TOKEN_USED",
      });

      const next = generateKeyPair();
      const r = { device: "barn-1", publicKey: next.publicKeyB64, at: now };
      const bytes = rotateProof(r);
      const sigs = {
        signature: signBytes(key.privateKey, bytes).toString("base64"),
        newSignature: signBytes(next.privateKey, bytes).toString("base64"),
      };
      const rot = await rotateKey(
        db,
        { ...r, ...sigs },
        { cloudPublicKey: cloud.publicKeyB64, overlapMs: 60_000 },
        now,
      );
      expect(rot.overlapUntil).toBe(now + 60_000);
      // A retry with the same new key is accepted, keeps the overlap, issues a fresh password.
      const again = await rotateKey(
        db,
        { ...r, ...sigs },
        { cloudPublicKey: cloud.publicKeyB64, overlapMs: 60_000 },
        now + 10,
      );
      expect(again.overlapUntil).toBe(now + 60_000);
      const keys = new DeviceKeys(db);
      expect((await keys.verifiers("barn-1", now + 1000)).length).toBe(2);
      expect((await keys.verifiers("barn-1", now + 61_000)).length).toBe(1);
      // A rotation signed by a stranger instead of the current key is refused.
      const stranger = generateKeyPair();
      const r2 = { device: "barn-1", publicKey: stranger.publicKeyB64, at: now };
      const b2 = rotateProof(r2);
      await expect(
        rotateKey(
          db,
          {
            ...r2,
            signature: signBytes(stranger.privateKey, b2).toString("base64"),
            newSignature: signBytes(stranger.privateKey, b2).toString("base64"),
          },
          { cloudPublicKey: cloud.publicKeyB64, overlapMs: 60_000 },
          now,
        ),
      ).rejects.toMatchObject({ code: "BL_ENROL_PROOF" });

      const made = await createApiToken(
        db,
        { name: "wu", role: "auditor", ttlMs: 1000, createdBy: "t" },
        now,
      );
      let clock = now;
      const store = new DbTokens(db, () => clock);
      expect(await store.principal(made.token)).toEqual({ name: "wu", role: "auditor" });
      clock = now + 2000;
      await expect(store.principal(made.token)).rejects.toMatchObject({ code: "BL_TOKEN_EXPIRED" });
      await revokeApiToken(db, made.id, now);
      await expect(store.principal(made.token)).rejects.toMatchObject({ code: "BL_TOKEN_REVOKED" });
      expect(await store.principal("blt_unknown")).toBeNull();
    } finally {
      await fresh.drop();
    }
  });
});

import { createHash } from "node:crypto";
import sharp from "sharp";
import type { Embedder } from "./embed/embedder.ts";
import { decodeFace } from "./embed/preprocess.ts";
import { ERR_MODEL_NO_FACE } from "./errors.ts";
import type { Gallery } from "./gallery/gallery.ts";
import type { Box } from "./pipeline/detector.ts";
import { assessQuality, defaultQuality, type QualityOptions } from "./pipeline/quality.ts";

export interface ClaimCheckInput {
  claimId: string;
  /** The photo of the dead animal (JPEG/PNG bytes). */
  photo: Buffer;
  /** Where the face is; default the whole photo (photos for claims are framed on the head). */
  box?: Box;
  threshold: number;
  now: number;
  quality?: QualityOptions;
}

/** The body of a `claim` record (sync/kinds.ts). */
export interface ClaimEvidence {
  claimId: string;
  pig: string | null;
  score: number;
  enrolled: boolean;
  repeated: boolean;
  photoSha256: string;
  detail?: Record<string, unknown>;
}

interface ClaimRow {
  claim_id: string;
  pig: string | null;
  photo_sha256: string;
  vec: Buffer | null;
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);

/**
 * Checks an insurance claim photo: who is this pig, is it enrolled (insured), and has it been
 * claimed before — by the same pig id, the same photo bytes, or (for unenrolled animals) a face
 * matching an earlier claim's face, which catches one dead pig photographed from several angles.
 * The check is stored, so the next claim for the same animal is flagged as repeated.
 */
export async function checkClaim(
  embedder: Embedder,
  gallery: Gallery,
  c: ClaimCheckInput,
): Promise<ClaimEvidence> {
  const photoSha256 = createHash("sha256").update(c.photo).digest("hex");
  const { data, info } = await sharp(c.photo).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const box = c.box ?? { left: 0, top: 0, width: info.width, height: info.height };
  const q = assessQuality(data, info.width, box, c.quality ?? { ...defaultQuality, minFacePx: 32 });
  if (!q.ok) throw ERR_MODEL_NO_FACE(`claim ${c.claimId}: no usable face (${q.reason})`, q);
  const crop = await decodeFace(c.photo, embedder.size, box);
  const vec = embedder.embed(crop, 1);
  const top = gallery.match(vec, 3);
  const best = top[0];
  const enrolled = best !== undefined && best.score >= c.threshold;
  const pig = enrolled ? best.pig : null;
  const prior = gallery.db
    .prepare("SELECT claim_id, pig, photo_sha256, vec FROM claims WHERE claim_id <> ?")
    .all(c.claimId) as ClaimRow[];
  const matches = prior.filter((p) => {
    if (p.photo_sha256 === photoSha256) return true;
    if (pig !== null && p.pig === pig) return true;
    if (!p.vec) return false;
    const v = new Float32Array(p.vec.buffer.slice(p.vec.byteOffset, p.vec.byteOffset + p.vec.length));
    return dot(v, vec) >= c.threshold;
  });
  gallery.db
    .prepare(
      "INSERT INTO claims(claim_id, pig, photo_sha256, vec, score, created_at) VALUES (?, ?, ?, ?, ?, ?) " +
        "ON CONFLICT(claim_id) DO NOTHING",
    )
    .run(
      c.claimId,
      pig,
      photoSha256,
      Buffer.from(vec.buffer, vec.byteOffset, vec.byteLength),
      best?.score ?? -1,
      c.now,
    );
  return {
    claimId: c.claimId,
    pig,
    score: best?.score ?? -1,
    enrolled,
    repeated: matches.length > 0,
    photoSha256,
    detail: {
      candidates: top,
      threshold: c.threshold,
      previousClaims: matches.map((m) => m.claim_id),
      model: embedder.version,
      quality: { sharpness: q.sharpness, mean: q.mean },
    },
  };
}

import { describe, expect, it } from "vitest";
import { strictBase64 } from "../core/canonical.ts";
import { generateKeyPair } from "../core/keys.ts";
import { decodeBatch, encodeBatch } from "./codec.ts";
import { type Ack, signMessage, verifyAck } from "./messages.ts";
import { StreamWriter } from "./stream-writer.ts";

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Every other spelling of `sig` that node's decoder reads as the same bytes (the last character's unused bits). */
function sameBytesSpellings(sig: string): string[] {
  const pad = sig.length - sig.replace(/=+$/, "").length;
  const at = sig.length - pad - 1;
  const value = B64.indexOf(sig[at]!);
  const unused = pad === 2 ? 0b1111 : pad === 1 ? 0b11 : 0;
  const out: string[] = [];
  for (let low = 0; low <= unused; low++) {
    const c = B64[(value & ~unused) | low]!;
    if (c !== sig[at]) out.push(sig.slice(0, at) + c + sig.slice(at + 1));
  }
  return out;
}

describe("one signature, one spelling", () => {
  it("strictBase64 takes only the canonical text and the asked length", () => {
    expect(strictBase64("AAE=")?.equals(Buffer.from([0, 1]))).toBe(true);
    for (const bad of ["AAF=", "AA E=", "AAE", "AAE==", "A\nAE=", 7, undefined])
      expect(strictBase64(bad)).toBeUndefined();
    expect(strictBase64("AAE=", 3)).toBeUndefined();
  });

  it("an ack whose signature is spelt with other unused bits is refused (CI found `…D/==` verifying as `…Dw==`)", () => {
    const cloud = generateKeyPair();
    let tried = 0;
    for (let i = 0; i < 8; i++) {
      const ack = signMessage<Ack>(cloud.privateKey, {
        v: 1,
        type: "ack",
        device: "barn-1",
        batch: i.toString(16).padStart(32, "0"),
        status: "committed",
        segments: [],
        at: i,
      });
      expect(verifyAck(cloud.publicKey, Buffer.from(JSON.stringify(ack)), "barn-1").ok).toBe(true);
      const spellings = sameBytesSpellings(ack.sig);
      expect(spellings).toHaveLength(15);
      for (const sig of spellings) {
        expect(Buffer.from(sig, "base64").equals(Buffer.from(ack.sig, "base64"))).toBe(true);
        const v = verifyAck(cloud.publicKey, Buffer.from(JSON.stringify({ ...ack, sig })), "barn-1");
        expect(v.ok).toBe(false);
        tried++;
      }
    }
    expect(tried).toBe(8 * 15);
  });

  it("a frame whose head signature or link hash is spelt another way is refused with BL_BAD_BATCH", () => {
    const device = generateKeyPair();
    const w = new StreamWriter("barn-1", "env.temperature", device);
    const seg = w.next([
      {
        t: { wall: 1_772_323_200_000, boot: "b", mono: 1, synced: true },
        kind: "reading",
        body: { value: 21 },
      },
    ]);
    const text = encodeBatch(
      { device: "barn-1", sentAt: 1_772_323_200_100, segments: [seg] },
      "none",
    ).toString("utf8");
    const json = text.slice(text.indexOf("{"));
    const prefix = text.slice(0, text.indexOf("{"));
    expect(decodeBatch(Buffer.from(text)).segments).toHaveLength(1);
    const doc = JSON.parse(json) as { s: Array<{ g: string; p: string }> };
    for (const field of ["g", "p"] as const) {
      for (const other of sameBytesSpellings(doc.s[0]![field])) {
        const changed = { ...doc, s: [{ ...doc.s[0]!, [field]: other }] };
        expect(() => decodeBatch(Buffer.from(prefix + JSON.stringify(changed)))).toThrow(
          expect.objectContaining({ code: "BL_BAD_BATCH" }),
        );
      }
    }
  });
});

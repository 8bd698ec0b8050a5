import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { agentConfigSchema } from "../../agent/config.ts";
import { cloudConfigSchema } from "../../cloud/config.ts";
import { parseConfigText } from "../../core/config.ts";
import { BarnlinkError } from "../../core/errors.ts";
import { generateKeyPair } from "../../core/keys.ts";
import { decodeBatch, encodeBatch } from "../../sync/codec.ts";
import { type Ack, type Command, signMessage, verifyAck, verifyCommand } from "../../sync/messages.ts";
import { batchOf, StreamWriter } from "../../sync/stream-writer.ts";

/**
 * Property-based fuzzing (fast-check) of what arrives from outside (#13): the frame decoder, ack
 * and command verification, the config loader. Every input either parses or is refused with a
 * BarnlinkError carrying its code; nothing else may be thrown, nothing may hang. `npm test` runs a
 * sample; `npm run fuzz` sets BARNLINK_FUZZ_RUNS=30000: 30,000 inputs each for the decoder, acks,
 * commands and the config loader, a fifth of that for the (slower) HTTP API
 * (cloud/api/http-hardening.test.ts): 126,000 inputs in all.
 */
const RUNS = Number(process.env.BARNLINK_FUZZ_RUNS ?? 500);
const LONG = 600_000;

const dev = generateKeyPair();
const cloud = generateKeyPair();
const w = new StreamWriter("barn-1", "env.temperature", dev);
const genuine = encodeBatch(
  batchOf("barn-1", [
    w.next(
      Array.from({ length: 5 }, (_, i) => ({
        t: { wall: 1_760_000_000_000 + i, boot: "b", mono: i, synced: true },
        kind: "reading",
        body: { value: i, unit: "degC" },
      })),
    ),
  ]) as never,
  "none",
);
const mutate = (buf: Buffer) =>
  fc
    .array(fc.tuple(fc.nat(buf.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 })
    .chain((flips) =>
      fc.constant(
        (() => {
          const b = Buffer.from(buf);
          for (const [at, v] of flips) b[at] = v;
          return b;
        })(),
      ),
    );
const refusedWithCode = (fn: () => unknown, codes: RegExp) => {
  try {
    fn();
    return true;
  } catch (e) {
    expect(e, String((e as Error)?.stack)).toBeInstanceOf(BarnlinkError);
    expect((e as BarnlinkError).code).toMatch(codes);
    return false;
  }
};

describe("fuzz: untrusted inputs are parsed or refused with a code, never crash or hang", () => {
  it(
    "frame decoder: random bytes, truncations and byte flips of a genuine frame",
    () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)),
            mutate(genuine),
            fc.nat(genuine.length).map((n) => genuine.subarray(0, n)),
          ),
          (buf) => {
            refusedWithCode(() => decodeBatch(buf), /^BL_BAD_BATCH$|^BL_BAD_RECORD$/);
          },
        ),
        { numRuns: RUNS },
      );
    },
    LONG,
  );

  it(
    "ack verification: only the cloud's exact signed ack verifies; mutations and junk are refused",
    () => {
      const ack = signMessage<Ack>(cloud.privateKey, {
        v: 1,
        type: "ack",
        device: "barn-1",
        batch: "a".repeat(32),
        status: "committed",
        segments: [{ stream: "env.temperature", from: 1, to: 5, hash: "0".repeat(64) }],
        at: 1,
      });
      const text = Buffer.from(JSON.stringify(ack));
      expect(verifyAck(cloud.publicKey, text, "barn-1").ok).toBe(true);
      fc.assert(
        fc.property(
          fc.oneof(
            mutate(text),
            fc.json().map((j) => Buffer.from(j)),
            fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
          ),
          (buf) => {
            const v = verifyAck(cloud.publicKey, buf, "barn-1");
            // A mutation may leave the JSON equal (whitespace, a flip back): only then can it verify.
            if (v.ok) expect(v.msg).toEqual(ack);
            else expect(v.reason.length).toBeGreaterThan(0);
          },
        ),
        { numRuns: RUNS },
      );
    },
    LONG,
  );

  it(
    "command verification: mutations, other devices and junk are refused",
    () => {
      const cmd = signMessage<Command>(cloud.privateKey, {
        v: 1,
        type: "cmd",
        id: "c".repeat(32),
        device: "barn-1",
        name: "seal.now",
        args: {},
        at: 1,
        expires: 2,
      });
      expect(verifyCommand(cloud.publicKey, Buffer.from(JSON.stringify(cmd)), "barn-1").ok).toBe(true);
      const text = Buffer.from(JSON.stringify(cmd));
      fc.assert(
        fc.property(
          fc.oneof(
            mutate(text),
            fc.json().map((j) => Buffer.from(j)),
          ),
          fc.constantFrom("barn-1", "barn-2"),
          (buf, device) => {
            const v = verifyCommand(cloud.publicKey, buf, device);
            if (v.ok) {
              expect(device).toBe("barn-1");
              expect(v.msg).toEqual(cmd);
            }
          },
        ),
        { numRuns: RUNS },
      );
    },
    LONG,
  );

  it(
    "config loader: random YAML and JSON documents, agent and cloud schemas",
    () => {
      const doc = fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.json(),
        fc
          .record({
            device: fc.string({ maxLength: 10 }),
            cloud: fc.anything({ maxDepth: 2 }),
            http: fc.anything({ maxDepth: 2 }),
          })
          .map((o) => JSON.stringify(o)),
      );
      fc.assert(
        fc.property(doc, fc.boolean(), (text, agent) => {
          refusedWithCode(
            () => parseConfigText(text, agent ? agentConfigSchema() : cloudConfigSchema, "fuzz.yaml"),
            /^BL_CONFIG_(INVALID|READ)$/,
          );
        }),
        { numRuns: RUNS },
      );
    },
    LONG,
  );
});

import type { KeyObject } from "node:crypto";
import { ERR_BAD_RECORD, ERR_BAD_SIGNATURE, ERR_CHAIN_BROKEN } from "../../core/errors.ts";
import { linkFromParts, verifyHead } from "../../sync/chain.ts";
import type { Batch } from "../../sync/codec.ts";
import { bodyIssue, canonicalBody, isKind } from "../../sync/kinds.ts";

export interface VerifiedRecord {
  seq: number;
  kind: string;
  t: { wall: number; boot: string; mono: number; synced: boolean };
  body: string;
  prev: string;
  hash: string;
}

export type VerifiedSegment =
  | {
      type: "records";
      stream: string;
      first: number;
      last: number;
      prev: string;
      hash: string;
      sig: string;
      records: VerifiedRecord[];
    }
  | {
      type: "gap";
      stream: string;
      from: number;
      to: number;
      reason: string;
      prev: string;
      hash: string;
      sig: string;
    };

/**
 * Checks every segment of a batch before anything is stored: each body against its kind's schema,
 * the chain from the segment's `prev` to its head, and the head's Ed25519 signature against the
 * device's registered key. One bad segment rejects the whole batch: nothing partial is stored.
 */
export function verifyBatch(batch: Batch, key: KeyObject): VerifiedSegment[] {
  const out: VerifiedSegment[] = [];
  for (const s of batch.segments) {
    if (s.type === "gap") {
      if (!verifyHead(key, batch.device, s.stream, s.to, s.head.hash, s.head.sig)) {
        throw ERR_BAD_SIGNATURE(`gap ${s.stream} ${s.from}..${s.to}: head signature does not verify`);
      }
      out.push({
        type: "gap",
        stream: s.stream,
        from: s.from,
        to: s.to,
        reason: s.reason,
        prev: s.prev.toString("hex"),
        hash: s.head.hash.toString("hex"),
        sig: s.head.sig.toString("base64"),
      });
      continue;
    }
    const last = s.first + s.records.length - 1;
    if (!verifyHead(key, batch.device, s.stream, last, s.head.hash, s.head.sig)) {
      throw ERR_BAD_SIGNATURE(`${s.stream} ${s.first}..${last}: head signature does not verify`);
    }
    const records: VerifiedRecord[] = new Array(s.records.length);
    let h = s.prev;
    let prevHex = h.toString("hex");
    for (let i = 0; i < s.records.length; i++) {
      const r = s.records[i]!;
      const seq = s.first + i;
      // The reading fast path accepts only what zod would; anything else is zod's to judge.
      const issue = bodyIssue(r.kind, r.body);
      if (issue !== null) {
        throw ERR_BAD_RECORD(
          isKind(r.kind)
            ? `${s.stream} seq ${seq}: ${issue}`
            : `${s.stream} seq ${seq}: unknown kind '${r.kind}'`,
        );
      }
      // Canonical body once: it is both what the link hashes and what is stored.
      const body = canonicalBody(r.kind, r.body);
      h = linkFromParts(h, batch.device, s.stream, seq, r.t, r.kind, body);
      const hashHex = h.toString("hex");
      records[i] = { seq, kind: r.kind, t: r.t, body, prev: prevHex, hash: hashHex };
      prevHex = hashHex;
    }
    if (!h.equals(s.head.hash)) {
      throw ERR_CHAIN_BROKEN(
        `${s.stream} ${s.first}..${last}: records do not chain to the signed head (tampered, reordered or truncated)`,
      );
    }
    out.push({
      type: "records",
      stream: s.stream,
      first: s.first,
      last,
      prev: s.prev.toString("hex"),
      hash: prevHex,
      sig: s.head.sig.toString("base64"),
      records,
    });
  }
  return out;
}

/**
 * verifyBatch against the device's keys in turn (its current key, then keys in a rotation's
 * overlap): a batch is signed by one key whole, so a bad signature under one key means try the
 * next; any other failure (a broken chain, a bad body) is the batch's own.
 */
export function verifyWithAny(batch: Batch, keys: KeyObject[]): VerifiedSegment[] {
  let last: unknown;
  for (const k of keys) {
    try {
      return verifyBatch(batch, k);
    } catch (e) {
      if (!ERR_BAD_SIGNATURE.is(e)) throw e;
      last = e;
    }
  }
  throw last ?? ERR_BAD_SIGNATURE("no key to verify against");
}

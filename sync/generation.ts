/**
 * Stream generations (#15, docs/protocol.md "Declared restarts"). A gateway that lost its outbox
 * (corrupt or empty file, heads unreadable) cannot continue a stream's seqs and chain: it restarts
 * the stream at seq 1 under a higher generation, named `name#gN` on the wire. The suffix is part of
 * every link and every signed head, so it is the signed declaration; configured stream names cannot
 * contain `#`, so it never collides with one.
 */
const SUFFIX = /^(.+)#g([1-9][0-9]{0,8})$/;

export function splitGeneration(wire: string): { name: string; generation: number } {
  const m = SUFFIX.exec(wire);
  return m ? { name: m[1]!, generation: Number(m[2]) } : { name: wire, generation: 0 };
}

export function withGeneration(name: string, generation: number): string {
  return generation > 0 ? `${name}#g${generation}` : name;
}

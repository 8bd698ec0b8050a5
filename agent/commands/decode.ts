import { createReadStream } from "node:fs";
import { FrameReader, segmentRecords } from "../../sync/codec.ts";
import { args, type CommandSpec, out } from "../cli-kit.ts";

const usage =
  "barnlink decode [FILE]   (reads stdin without FILE; e.g. mosquitto_sub -t 'barnlink/v1/+/up' -F %p | barnlink decode)";

/** Prints each record of each up-batch as one JSON line; bad frames are reported on stderr. */
export const decode: CommandSpec = {
  name: "decode",
  summary: "Print the records of up-batches (file or stdin) as JSON lines",
  usage,
  async run(argv) {
    const a = args(argv, {}, usage, true);
    const input = a.positionals[0] ? createReadStream(a.positionals[0]) : process.stdin;
    const reader = new FrameReader();
    let bad = 0;
    let frames = 0;
    for await (const chunk of input) {
      for (const r of reader.push(chunk as Buffer)) {
        if (r.error) {
          bad++;
          process.stderr.write(`bad batch: ${r.error.message}\n`);
          continue;
        }
        frames++;
        const b = r.batch!;
        for (const s of b.segments) {
          if (s.type === "gap") {
            out(
              JSON.stringify({
                device: b.device,
                batch: b.id,
                stream: s.stream,
                gap: { from: s.from, to: s.to, reason: s.reason },
              }),
            );
            continue;
          }
          for (const rec of segmentRecords(b.device, s)) out(JSON.stringify({ ...rec, batch: b.id }));
        }
      }
    }
    if (reader.pending() > 3) {
      bad++;
      process.stderr.write(`bad batch: ${reader.pending()} bytes at the end do not form a whole frame\n`);
    }
    if (frames === 0 && bad === 0) process.stderr.write("no batch found in the input\n");
    return bad > 0 || frames === 0 ? 1 : 0;
  },
};

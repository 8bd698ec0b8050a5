/**
 * Cuts a concatenated MJPEG byte stream (ffmpeg `-f mjpeg`) into single JPEGs by their start
 * (FF D8) and end (FF D9) markers. Inside entropy-coded data every FF is followed by 00 (JPEG,
 * ITU-T T.81 §B.1.1.5), so FF D9 cannot occur before the real end of a baseline frame.
 */
export class MjpegSplitter {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxBytes = 16 * 1024 * 1024) {}

  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Buffer[] = [];
    for (;;) {
      const start = this.buf.indexOf(SOI);
      if (start < 0) {
        this.buf = this.buf.subarray(Math.max(0, this.buf.length - 1)); // keep a possible lone FF
        break;
      }
      const end = this.buf.indexOf(EOI, start + 2);
      if (end < 0) {
        this.buf = this.buf.subarray(start);
        // Garbage that never ends a frame must not grow without bound.
        if (this.buf.length > this.maxBytes) this.buf = Buffer.alloc(0);
        break;
      }
      frames.push(Buffer.from(this.buf.subarray(start, end + 2)));
      this.buf = this.buf.subarray(end + 2);
    }
    return frames;
  }
}

const SOI = Buffer.from([0xff, 0xd8]);
const EOI = Buffer.from([0xff, 0xd9]);

export function isJpeg(b: Buffer): boolean {
  return b.length > 4 && b[0] === 0xff && b[1] === 0xd8;
}

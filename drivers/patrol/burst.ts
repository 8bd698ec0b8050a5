import type { Frame, FrameSource } from "../camera-types.ts";

/**
 * The next `n` frames a camera delivers after the robot has stopped (not the one already in hand:
 * it may have been taken while moving). Resolves with what arrived by `timeoutMs` (maybe none).
 */
export function grabBurst(source: FrameSource, n: number, timeoutMs: number): Promise<Frame[]> {
  return new Promise((resolve) => {
    const got: Frame[] = [];
    const done = () => {
      clearTimeout(timer);
      off();
      resolve(got);
    };
    const off = source.onFrame((f) => {
      got.push(f);
      if (got.length >= n) done();
    });
    const timer = setTimeout(done, timeoutMs);
  });
}

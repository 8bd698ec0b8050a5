import type { Frame, FrameSource } from "../camera-types.ts";

/**
 * The next `n` frames a camera delivers after the robot has stopped (not the one already in hand:
 * it may have been taken while moving). Resolves with what arrived by `timeoutMs` or by `stop`
 * (the robot left), maybe none.
 */
export function grabBurst(
  source: FrameSource,
  n: number,
  timeoutMs: number,
  stop?: AbortSignal,
): Promise<Frame[]> {
  return new Promise((resolve) => {
    const got: Frame[] = [];
    const done = () => {
      clearTimeout(timer);
      off();
      stop?.removeEventListener("abort", done);
      resolve(got);
    };
    stop?.addEventListener("abort", done);
    const off = source.onFrame((f) => {
      got.push(f);
      if (got.length >= n) done();
    });
    const timer = setTimeout(done, timeoutMs);
  });
}

import type { AlarmInput } from "../../drivers/types.ts";

/**
 * The pipeline's alarms, raised once and cleared when the cause is gone: an unknown animal at a
 * camera (a substituted or uninsured pig), and enrolled pigs not seen for days (death or sale).
 */
export class FaceAlarms {
  private unknownActive = false;
  private readonly unseen = new Set<string>();

  constructor(
    private readonly camera: string,
    private readonly barn: string,
    private readonly unseenDays: number,
    private readonly raise: (a: AlarmInput) => void,
  ) {}

  seen(pig: string): void {
    if (this.unseen.delete(pig)) this.unseenAlarm(pig, false);
  }

  unknown(frameSha256: string, score: number, frames: number): void {
    if (this.unknownActive) return;
    this.unknownActive = true;
    this.raise({
      code: "faces.unknown_pig",
      severity: "warning",
      subject: this.camera,
      active: true,
      message: `an animal not in the gallery is at ${this.camera} (substituted or uninsured pig?)`,
      detail: { barn: this.barn, frameSha256, score, frames },
    });
  }

  /** At the end of a census window: raise for newly unseen pigs, clear the unknown alarm if quiet. */
  windowClosed(unseenPigs: string[], unknownInWindow: number): void {
    for (const pig of unseenPigs) {
      if (!this.unseen.has(pig)) {
        this.unseen.add(pig);
        this.unseenAlarm(pig, true);
      }
    }
    if (this.unknownActive && unknownInWindow === 0) {
      this.unknownActive = false;
      this.raise({
        code: "faces.unknown_pig",
        severity: "warning",
        subject: this.camera,
        active: false,
        message: `no unknown animal at ${this.camera} for a census window`,
      });
    }
  }

  private unseenAlarm(pig: string, active: boolean): void {
    this.raise({
      code: "faces.pig_unseen",
      severity: "warning",
      subject: pig,
      active,
      message: active
        ? `${pig} not seen for ${this.unseenDays} days (possible death or sale)`
        : `${pig} seen again`,
      detail: { barn: this.barn },
    });
  }
}

import { EventEmitter } from "node:events";
import type { LinkClient } from "./mqtt-client.ts";

/**
 * An MQTT client without a broker, for the link's unit tests: it records what is published and
 * subscribed, and the test drives it (`goOnline`, `goOffline`, `deliver`). Publishes while offline
 * are dropped, as a broker connection that died would.
 */
export class FakeMqttClient extends EventEmitter implements LinkClient {
  connected = false;
  readonly published: Array<{ topic: string; payload: Buffer; retain: boolean }> = [];
  readonly subscribed: string[] = [];
  reconnects = 0;
  ended = false;

  goOnline(): void {
    this.connected = true;
    this.emit("connect");
  }

  goOffline(): void {
    this.connected = false;
    this.emit("close");
  }

  deliver(topic: string, payload: Buffer): void {
    this.emit("message", topic, payload);
  }

  subscribe(topics: string[], _opts: { qos: 1 }, cb?: (err: Error | null) => void): this {
    this.subscribed.push(...topics);
    cb?.(null);
    return this;
  }

  publish(
    topic: string,
    payload: string | Buffer,
    opts: { qos: 1; retain?: boolean },
    cb?: (err?: Error) => void,
  ): this {
    if (!this.connected) {
      cb?.(new Error("not connected"));
      return this;
    }
    this.published.push({ topic, payload: Buffer.from(payload), retain: opts.retain === true });
    cb?.();
    return this;
  }

  /** Published frames on `topic`. */
  frames(topic: string): Buffer[] {
    return this.published.filter((p) => p.topic === topic).map((p) => p.payload);
  }

  reconnect(): this {
    this.reconnects++;
    return this;
  }

  async endAsync(): Promise<void> {
    this.ended = true;
    this.connected = false;
  }
}

import { z } from "zod";
import { parseBytes, parseDuration } from "./config.ts";

/** A duration given as "30s"/"5m"/… or milliseconds; parsed to milliseconds. */
export const duration = () =>
  z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
    try {
      return parseDuration(v);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
      return z.NEVER;
    }
  });

/** A size given as "64MiB"/… or bytes; parsed to bytes. */
export const bytes = () =>
  z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
    try {
      return parseBytes(v);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
      return z.NEVER;
    }
  });

/** Identifiers used in topics and file names: no MQTT wildcards, no separators. */
export const ident = () =>
  z
    .string()
    .min(1)
    .max(64)
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
      "use letters, digits, '.', '_' or '-' (no spaces, '/', '+' or '#')",
    );

/** A broker URL, as MQTT.js takes it; the demo's and a fresh machine's broker by default. */
export const mqttUrl = () =>
  z
    .string()
    .regex(/^(mqtts?|wss?|tcp|ssl):\/\//, "an mqtt://, mqtts://, ws:// or wss:// URL")
    .default("mqtt://127.0.0.1:1883");

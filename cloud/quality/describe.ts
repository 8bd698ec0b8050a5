/** Words a lender reads: what a stream is, when something happened. */

const NAMES: Record<string, string> = {
  "env.temperature": "temperature sensor",
  "env.humidity": "humidity sensor",
  "env.ammonia": "ammonia sensor",
  "silo.weight": "silo load cell",
};
const UNITS: Record<string, string> = { degC: "°C", "%RH": "% RH", ppm: "ppm", kg: "kg" };

export const sensorName = (stream: string) => NAMES[stream] ?? `sensor ${stream}`;
export const unitOf = (u: unknown) => (typeof u === "string" ? (UNITS[u] ?? u) : "");
export const when = (t: number) => new Date(t).toISOString().slice(0, 16).replace("T", " ");
export const fmt = (x: number, unit: string) =>
  `${(Math.round(x * 10) / 10).toFixed(1)}${unit === "°C" || unit === "" ? "" : " "}${unit}`;

import { TOPIC_ROOT } from "../../sync/topics.ts";

/**
 * Who may do what on the broker (the same rules `barnlink broker-config mosquitto` writes as an
 * ACL file):
 * - a device publishes only `barnlink/v1/<own id>/up` and `/state`, and subscribes only to its own
 *   `/ack` and `/cmd`;
 * - the cloud (ingest) account is the only one that reads every device's `up` and `state` and
 *   writes `ack` and `cmd`;
 * - an `admin` account (operators' diagnostics, the test suites' observers) may do anything;
 *   never give one to a gateway.
 */
export type BrokerPrincipal =
  | { kind: "device"; username: string }
  | { kind: "cloud"; username: string }
  | { kind: "admin"; username: string };

/** Client ids `barnlink-<name>` belong to principal <name> alone: nobody else can take the session over. */
export const CLIENT_ID_PREFIX = "barnlink-";

export function clientIdAllowed(p: BrokerPrincipal, clientId: string): boolean {
  if (p.kind === "admin") return !clientId.startsWith(CLIENT_ID_PREFIX);
  return clientId === `${CLIENT_ID_PREFIX}${p.username}`;
}

function split(topic: string): { device: string; channel: string } | null {
  const parts = topic.split("/");
  if (parts.length !== 4 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) return null;
  return { device: parts[2]!, channel: parts[3]! };
}

export function mayPublish(p: BrokerPrincipal, topic: string): boolean {
  if (p.kind === "admin") return true;
  const t = split(topic);
  if (!t || t.device.includes("+") || t.device.includes("#")) return false;
  if (p.kind === "device") return t.device === p.username && (t.channel === "up" || t.channel === "state");
  return t.channel === "ack" || t.channel === "cmd";
}

/** Subscriptions, with a shared-subscription prefix `$share/<group>/` judged on the filter behind it. */
export function maySubscribe(p: BrokerPrincipal, filter: string): boolean {
  if (p.kind === "admin") return true;
  const shared = /^\$share\/[^/+#]+\/(.+)$/.exec(filter);
  const f = shared ? shared[1]! : filter;
  const t = split(f);
  if (!t) return false;
  if (p.kind === "device")
    return !shared && t.device === p.username && (t.channel === "ack" || t.channel === "cmd");
  return (t.channel === "up" || t.channel === "state") && (t.device === "+" || !/[+#]/.test(t.device));
}

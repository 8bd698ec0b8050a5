/** MQTT topics, versioned (docs/protocol.md). */
export const TOPIC_ROOT = "barnlink/v1";
export const upTopic = (device: string) => `${TOPIC_ROOT}/${device}/up`;
export const ackTopic = (device: string) => `${TOPIC_ROOT}/${device}/ack`;
export const cmdTopic = (device: string) => `${TOPIC_ROOT}/${device}/cmd`;
export const stateTopic = (device: string) => `${TOPIC_ROOT}/${device}/state`;
export const UP_WILDCARD = `${TOPIC_ROOT}/+/up`;
export const STATE_WILDCARD = `${TOPIC_ROOT}/+/state`;

/** The device id in a barnlink topic, or null when the topic is not one of ours. */
export function deviceOfTopic(topic: string): { device: string; channel: string } | null {
  const parts = topic.split("/");
  if (parts.length !== 4 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) return null;
  return { device: parts[2]!, channel: parts[3]! };
}

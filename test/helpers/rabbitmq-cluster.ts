import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./mosquitto.ts";
import { serviceAvailable, tcpReachable, tmpDir } from "./services.ts";
import { waitFor } from "./wait-for.ts";

const run = promisify(execFile);
const BIN = "/usr/lib/rabbitmq/bin";

/** Debian's RabbitMQ server scripts (3.10, with the rabbitmq_mqtt plugin): skipped off CI when missing. */
export const rabbitmqAvailable = () =>
  serviceAvailable(
    "RabbitMQ server (Debian package, /usr/lib/rabbitmq/bin)",
    async () =>
      existsSync(join(BIN, "rabbitmq-server")) &&
      spawnSync("sh", ["-c", `ls /usr/lib/rabbitmq/lib/*/plugins | grep -q '^rabbitmq_mqtt-'`]).status === 0,
  );

export interface RabbitNode {
  name: string;
  amqpPort: number;
  mqttPort: number;
  amqpUrl: string;
  mqttUrl: string;
  /** Whether the node's VM is running (false once killed). */
  alive(): boolean;
}

export interface RabbitCluster {
  nodes: RabbitNode[];
  /** rabbitmqctl against one node (its HOME holds the cluster's cookie). */
  ctl(node: RabbitNode, ...args: string[]): Promise<string>;
  /** kill -9 of the node's whole process group: no shutdown, no goodbye to its peers. */
  kill(node: RabbitNode): void;
  stop(): Promise<void>;
}

/**
 * A RabbitMQ cluster of the test's own, from the Debian package: each node has its own name, ports
 * (AMQP, distribution, MQTT), data and log directories under one tmp dir, and one shared Erlang
 * cookie (a HOME of the cluster's own), so nothing touches the machine's node on the default
 * ports. The nodes boot in parallel (~40 s each here), then the others join the first
 * (stop_app / join_cluster / start_app).
 */
export async function startRabbitCluster(size = 3): Promise<RabbitCluster> {
  const dir = tmpDir("barnlink-rmq-");
  const home = join(dir, "home");
  mkdirSync(home);
  writeFileSync(join(home, ".erlang.cookie"), randomBytes(20).toString("hex"));
  chmodSync(join(home, ".erlang.cookie"), 0o400);
  const tag = randomBytes(3).toString("hex");
  const envFile = join(dir, "rabbitmq-env.conf");
  writeFileSync(envFile, "");
  const baseEnv = {
    ...process.env,
    HOME: home,
    RABBITMQ_CONF_ENV_FILE: envFile,
    ERL_EPMD_ADDRESS: "127.0.0.1",
    ERL_FLAGS: "-kernel inet_dist_use_interface {127,0,0,1}",
  };
  const children = new Map<string, ChildProcess>();
  const nodes: RabbitNode[] = [];
  const envs = new Map<string, NodeJS.ProcessEnv>();
  for (let i = 1; i <= size; i++) {
    const name = `bl${tag}-${i}@localhost`;
    const [amqpPort, distPort, mqttPort] = [await freePort(), await freePort(), await freePort()];
    const nd = join(dir, `n${i}`);
    mkdirSync(nd);
    writeFileSync(join(nd, "enabled_plugins"), "[rabbitmq_mqtt].\n");
    writeFileSync(
      join(nd, "rabbitmq.conf"),
      [
        `listeners.tcp.default = 127.0.0.1:${amqpPort}`,
        `mqtt.listeners.tcp.default = 127.0.0.1:${mqttPort}`,
        "mqtt.allow_anonymous = true",
        "mqtt.default_user = guest",
        "mqtt.default_pass = guest",
        "mqtt.vhost = /",
        "mqtt.exchange = amq.topic",
        // A node that lost its peers keeps serving (the test kills one of three; the other two are a majority).
        "cluster_partition_handling = pause_minority",
        "log.console = false",
        "",
      ].join("\n"),
    );
    const env = {
      ...baseEnv,
      RABBITMQ_NODENAME: name,
      RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
      RABBITMQ_NODE_PORT: String(amqpPort),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_MNESIA_BASE: join(nd, "mnesia"),
      RABBITMQ_LOG_BASE: join(nd, "log"),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(nd, "enabled_plugins"),
      RABBITMQ_CONFIG_FILE: join(nd, "rabbitmq.conf"),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(nd, "advanced.config"),
    };
    envs.set(name, env);
    const out = openSync(join(nd, "stdout.log"), "a");
    const child = spawn(join(BIN, "rabbitmq-server"), [], {
      env,
      detached: true,
      stdio: ["ignore", out, out],
    });
    children.set(name, child);
    nodes.push({
      name,
      amqpPort,
      mqttPort,
      amqpUrl: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
      mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
      alive: () => child.exitCode === null && child.signalCode === null,
    });
  }
  const ctl = async (node: RabbitNode, ...args: string[]) =>
    (
      await run(join(BIN, "rabbitmqctl"), ["-n", node.name, ...args], {
        env: envs.get(node.name),
        timeout: 180_000,
      })
    ).stdout;
  const kill = (node: RabbitNode) => {
    const c = children.get(node.name);
    if (c?.pid && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(-c.pid, "SIGKILL");
      } catch {}
    }
  };
  const cluster: RabbitCluster = {
    nodes,
    ctl,
    kill,
    async stop() {
      for (const n of nodes) kill(n);
      await Promise.all(
        [...children.values()].map(
          (c) =>
            new Promise<void>((r) =>
              c.exitCode !== null || c.signalCode !== null ? r() : c.once("exit", () => r()),
            ),
        ),
      );
      // Each node's data (mnesia, logs: tens of MB) goes with the cluster.
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(
      nodes.map(async (n) => {
        // await_startup fails at once until the node has registered with epmd: poll it.
        await waitFor(
          async () => {
            if (!n.alive()) throw new Error(`${n.name} exited while booting (logs in ${dir})`);
            await ctl(n, "await_startup", "--timeout", "30");
            return true;
          },
          `${n.name} booted`,
          { timeoutMs: 300_000, intervalMs: 1000 },
        );
        await waitFor(() => tcpReachable("127.0.0.1", n.mqttPort, 500), `${n.name} MQTT listener`, {
          timeoutMs: 60_000,
          intervalMs: 200,
        });
      }),
    );
    const [first, ...rest] = nodes;
    for (const n of rest) {
      await ctl(n, "stop_app");
      await ctl(n, "join_cluster", first!.name);
      await ctl(n, "start_app");
      await ctl(n, "await_startup", "--timeout", "240");
    }
    // Gateways' persistent sessions are classic queues (mqtt-subscription-<client id>qos1) on the node
    // they first connected to: mirrored on every node, a gateway that fails over to another node
    // finds its session (acks, commands) there instead of a queue whose home node is down.
    await ctl(
      first!,
      "set_policy",
      "--apply-to",
      "queues",
      "mqtt-sessions",
      "^mqtt-subscription-",
      '{"ha-mode":"all","ha-sync-mode":"automatic"}',
    );
  } catch (e) {
    // Killed, but the logs are kept for the failure (the error names the directory).
    for (const n of nodes) kill(n);
    throw new Error(`RabbitMQ cluster did not form (node logs in ${dir}): ${(e as Error).message}`);
  }
  return cluster;
}

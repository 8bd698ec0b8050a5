import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { newTlsKeyAndCsr } from "../../core/csr.ts";
import { ERR_USAGE } from "../../core/errors.ts";
import { loadOrCreateKey, signBytes } from "../../core/keys.ts";
import { type EnrolRequest, enrolProof, type RotateRequest, rotateProof } from "../../sync/enrolment.ts";
import { args, type CommandSpec, need, out } from "../cli-kit.ts";
import { editConfig, postToCloud, writeAtomic } from "../provision/client.ts";
import { ERR_PROVISION_REFUSED } from "../provision/errors.ts";

// The gateway's half of provisioning and key rotation (docs/security.md). Node built-ins, yaml and
// fetch only: nothing here may reach cloud/ (test/e2e/agent-loads.test.ts).

const cloudUrl = (v: string | undefined, usage: string) => {
  const u = need(v, "--cloud URL", usage);
  if (!/^https?:\/\/[^/]/.test(u)) throw ERR_USAGE(`--cloud must be an http:// or https:// URL, got ${u}`);
  return u;
};

const provisionUsage =
  "barnlink provision --cloud URL --token TOKEN [--config agent.yaml] [--device ID] [--data-dir DIR] [--client-cert] [--mqtt URL]";

/**
 * `barnlink provision`: makes the device key if absent (dataDir/device.key, as the agent would),
 * signs an enrolment request with it (proof of possession, bound to the single-use token), and with
 * --client-cert a P-256 key and CSR for a TLS client certificate (the private key stays here).
 * What the cloud answers goes into the config (cloud.publicKey, cloud.mqtt.*) and dataDir, so
 * `barnlink agent --config` then connects.
 */
export const provision: CommandSpec = {
  name: "provision",
  summary: "Enrol this gateway with an admin's one-time token: key, broker login, client certificate",
  usage: provisionUsage,
  async run(argv) {
    const a = args(
      argv,
      {
        cloud: { type: "string" },
        token: { type: "string" },
        config: { type: "string", short: "c" },
        device: { type: "string" },
        "data-dir": { type: "string" },
        "client-cert": { type: "boolean" },
        mqtt: { type: "string" },
      },
      provisionUsage,
    );
    const cloud = cloudUrl(a.values.cloud, provisionUsage);
    const token = need(a.values.token, "--token TOKEN", provisionUsage);
    const file = resolve(a.values.config ?? "agent.yaml");
    const cfg = editConfig(file);
    const configured = cfg.get(["device"]) as string | undefined;
    if (configured !== undefined && a.values.device !== undefined && configured !== a.values.device)
      throw ERR_USAGE(`--device ${a.values.device} differs from device: ${configured} in ${file}`);
    const device = configured ?? a.values.device;
    if (device === undefined)
      throw ERR_USAGE(`${file} names no device: give --device ID (the id the token was made for)`);
    if (a.values.mqtt !== undefined && !/^(mqtts?|wss?|tcp|ssl):\/\//.test(a.values.mqtt))
      throw ERR_USAGE(`--mqtt must be an mqtt:// or mqtts:// URL, got ${a.values.mqtt}`);
    // As the agent reads it: a dataDir in the config is relative to the working directory; a new
    // one (--data-dir, or data/ beside the config) is written absolute.
    const given = cfg.get(["dataDir"]) as string | undefined;
    const dataDir =
      given !== undefined ? resolve(given) : resolve(a.values["data-dir"] ?? join(dirname(file), "data"));
    mkdirSync(dataDir, { recursive: true });
    const key = loadOrCreateKey(join(dataDir, "device.key"));
    const tls = a.values["client-cert"] ? newTlsKeyAndCsr(device) : undefined;
    const body: Omit<EnrolRequest, "signature"> = {
      device,
      token,
      publicKey: key.publicKeyB64,
      ...(tls ? { csr: tls.csrPem } : {}),
      at: Date.now(),
    };
    const signature = signBytes(key.privateKey, enrolProof(body)).toString("base64");
    const ans = await postToCloud(cloud, "/api/v1/enrol", { ...body, signature });
    if (tls && !ans.certificate)
      throw ERR_PROVISION_REFUSED("the cloud enrolled the device but returned no client certificate");

    cfg.set(["device"], device);
    if (cfg.get(["dataDir"]) === undefined) cfg.set(["dataDir"], dataDir);
    cfg.set(["cloud", "publicKey"], ans.cloudPublicKey);
    const url = a.values.mqtt ?? ans.mqtt.url;
    if (url) cfg.set(["cloud", "mqtt", "url"], url);
    cfg.set(["cloud", "mqtt", "username"], ans.mqtt.username);
    cfg.set(["cloud", "mqtt", "password"], ans.mqtt.password);
    if (tls && ans.certificate) {
      writeAtomic(join(dataDir, "mqtt-client.key"), tls.keyPem, 0o600);
      writeAtomic(join(dataDir, "mqtt-client.pem"), ans.certificate, 0o644);
      cfg.set(["cloud", "mqtt", "keyFile"], join(dataDir, "mqtt-client.key"));
      cfg.set(["cloud", "mqtt", "certFile"], join(dataDir, "mqtt-client.pem"));
    }
    if (ans.ca) {
      writeAtomic(join(dataDir, "ca.pem"), ans.ca, 0o644);
      cfg.set(["cloud", "mqtt", "caFile"], join(dataDir, "ca.pem"));
    }
    cfg.save();
    out(`enrolled ${device} (key ${key.publicKeyB64}${tls ? ", client certificate" : ""}); wrote ${file}`);
    if (!url && cfg.get(["cloud", "mqtt", "url"]) === undefined)
      out("the cloud gave no broker URL: set cloud.mqtt.url (or run again with --mqtt URL)");
    out(`run: barnlink agent --config ${file}`);
    return 0;
  },
};

const rotateUsage = "barnlink keys rotate --cloud URL [--config agent.yaml]";

/**
 * `barnlink keys rotate`: a new device key (dataDir/device.key.next until the cloud took it),
 * registered by a request signed with the current key and the new one. The cloud keeps accepting
 * the old key and broker password for its overlap window; the agent signs with the new key once
 * restarted. Interrupted after the cloud answered, it can be run again: the same new key is sent.
 */
export const keysRotate: CommandSpec = {
  name: "keys rotate",
  summary: "Replace this gateway's device key and broker password (the old ones work for an overlap)",
  usage: rotateUsage,
  async run(argv) {
    const a = args(argv, { cloud: { type: "string" }, config: { type: "string", short: "c" } }, rotateUsage);
    const cloud = cloudUrl(a.values.cloud, rotateUsage);
    const file = resolve(a.values.config ?? "agent.yaml");
    if (!existsSync(file)) throw ERR_USAGE(`no config at ${file}: provision first (barnlink provision)`);
    const cfg = editConfig(file);
    const device = cfg.get(["device"]) as string | undefined;
    if (!device) throw ERR_USAGE(`${file} names no device`);
    const dataDir = resolve((cfg.get(["dataDir"]) as string | undefined) ?? "./data");
    const current = join(dataDir, "device.key");
    if (!existsSync(current)) throw ERR_USAGE(`no device key at ${current}: provision first`);
    const old = loadOrCreateKey(current);
    const nextFile = join(dataDir, "device.key.next");
    const next = loadOrCreateKey(nextFile);
    const body: Omit<RotateRequest, "signature" | "newSignature"> = {
      device,
      publicKey: next.publicKeyB64,
      at: Date.now(),
    };
    const bytes = rotateProof(body);
    let ans: Awaited<ReturnType<typeof postToCloud>>;
    try {
      ans = await postToCloud(cloud, "/api/v1/enrol/rotate", {
        ...body,
        signature: signBytes(old.privateKey, bytes).toString("base64"),
        newSignature: signBytes(next.privateKey, bytes).toString("base64"),
      });
    } catch (e) {
      // Refused: the new key was never registered, so it is dropped; unreachable: kept for a retry.
      if (ERR_PROVISION_REFUSED.is(e)) rmSync(nextFile, { force: true });
      throw e;
    }
    // The password first: the config is what the agent reads at its restart, and the old password
    // works through the overlap, so a crash between the two steps leaves a working gateway.
    cfg.set(["cloud", "mqtt", "password"], ans.mqtt.password);
    cfg.save();
    writeAtomic(current, readFileSync(nextFile, "utf8"), 0o600);
    rmSync(nextFile, { force: true });
    const until = ans.overlapUntil ? new Date(ans.overlapUntil).toISOString() : "the overlap ends";
    out(`rotated ${device}'s key to ${next.publicKeyB64}; the old key and password work until ${until}`);
    out("restart the agent now so it signs with the new key (systemctl restart barnlink-agent)");
    return 0;
  },
};

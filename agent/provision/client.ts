import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { httpCall } from "../../core/http-request.ts";
import type { EnrolAnswer } from "../../sync/enrolment.ts";
import { ERR_PROVISION_REFUSED, ERR_PROVISION_UNREACHABLE } from "./errors.ts";

/** POSTs JSON to the cloud's enrolment API; a refusal becomes BL_PROVISION_REFUSED naming the cloud's code. */
export async function postToCloud(cloud: string, path: string, body: unknown): Promise<EnrolAnswer> {
  const url = `${cloud.replace(/\/+$/, "")}${path}`;
  let res: { status: number; ok: boolean };
  let text: string;
  try {
    const a = await httpCall(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    res = { status: a.status, ok: a.status >= 200 && a.status < 300 };
    text = a.body.toString("utf8");
  } catch (e) {
    throw ERR_PROVISION_UNREACHABLE(`${url}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw ERR_PROVISION_UNREACHABLE(`${url}: HTTP ${res.status}, not JSON: ${text.slice(0, 120)}`);
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string } }).error;
    const m = `the cloud refused (HTTP ${res.status} ${err?.code ?? "?"}): ${err?.message ?? text.slice(0, 200)}`;
    if (res.status >= 500) throw ERR_PROVISION_UNREACHABLE(m);
    throw ERR_PROVISION_REFUSED(m, { status: res.status, code: err?.code });
  }
  const a = json as EnrolAnswer;
  if (typeof a?.mqtt?.password !== "string" || typeof a.cloudPublicKey !== "string")
    throw ERR_PROVISION_UNREACHABLE(`${url}: the answer is not an enrolment answer`);
  return a;
}

/** Writes a file atomically (temp file, then rename) with `mode`. */
export function writeAtomic(file: string, data: string, mode: number) {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

/**
 * The agent's YAML config as an editable document (comments kept), or a new one. `set` takes a
 * path such as ["cloud", "mqtt", "password"]; `save` writes it 0600 (it now holds a broker password).
 */
export function editConfig(file: string) {
  const doc = existsSync(file) ? parseDocument(readFileSync(file, "utf8")) : parseDocument("{}\n");
  if (doc.errors.length) throw ERR_PROVISION_REFUSED(`${file}: not valid YAML: ${doc.errors[0]!.message}`);
  return {
    get: (path: string[]) => doc.getIn(path) as unknown,
    set: (path: string[], value: unknown) => doc.setIn(path, value),
    save: () => writeAtomic(file, doc.toString(), 0o600),
  };
}

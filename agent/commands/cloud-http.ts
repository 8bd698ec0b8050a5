import { createReadStream } from "node:fs";
import http from "node:http";
import https from "node:https";
import { BarnlinkError, defineError, ERR_USAGE } from "../../core/errors.ts";
import { type HttpAnswer, httpCall } from "../../core/http-request.ts";
import { need } from "../cli-kit.ts";

/**
 * The cloud's HTTP API as a laptop's `barnlink` reaches it (`barnlink fleet …`, `model upload`, `uploads`,
 * `upload-delete`): the URL and bearer token from flags or the environment, as `barnlink fleet`
 * takes them, JSON calls, and a file streamed as a request body (never read whole).
 */
export const ERR_CLOUD_UNREACHABLE = defineError(
  "BL_CLOUD_UNREACHABLE",
  503,
  "The cloud's API could not be reached, or answered something that is not barnlink's API (check --url, the network, TLS, a proxy in between).",
);
export const ERR_UPLOAD_FILE = defineError(
  "BL_UPLOAD_FILE",
  400,
  "The file given to upload does not exist, is not a regular file, or cannot be read.",
);

export interface Conn {
  url: string;
  token: string;
}

/** `--url` (or `--api`, or BARNLINK_URL; default http://127.0.0.1:8080) and `--token` (or BARNLINK_TOKEN). */
export function conn(v: { url?: string; api?: string; token?: string }, usage: string): Conn {
  const raw = v.url ?? v.api ?? process.env.BARNLINK_URL ?? "http://127.0.0.1:8080";
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw ERR_USAGE(
      `--url ${JSON.stringify(raw)} is not a URL (like https://cloud.example.org)\nusage: ${usage}`,
    );
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw ERR_USAGE(`--url ${JSON.stringify(raw)}: only http:// and https:// are supported\nusage: ${usage}`);
  const token = need(v.token ?? process.env.BARNLINK_TOKEN, "--token TOKEN (or BARNLINK_TOKEN)", usage);
  return { url: raw.replace(/\/+$/, ""), token };
}

/**
 * The cloud's answer as JSON, or its refusal as a coded error: the server's own code (BL_ADAPT_…,
 * BL_FORBIDDEN, …) with its HTTP status, so the CLI prints `[CODE]` and exits 2 (4xx) or 1 (5xx).
 */
function answer(what: string, status: number, text: string): Record<string, unknown> {
  let json: Record<string, unknown> & { error?: { code?: string; message?: string } };
  try {
    json = JSON.parse(text);
  } catch {
    throw ERR_CLOUD_UNREACHABLE(`${what}: HTTP ${status}, not barnlink's API: ${text.slice(0, 120)}`);
  }
  if (status >= 200 && status < 300) return json;
  const e = json.error;
  if (!e?.code) throw ERR_CLOUD_UNREACHABLE(`${what}: HTTP ${status} without a coded error`);
  throw new BarnlinkError(e.code, `${what}: HTTP ${status}: ${e.message ?? ""}`, status, json.error);
}

const unreachable = (c: Conn, e: unknown) => {
  const err = e as Error & { cause?: Error; code?: string };
  return ERR_CLOUD_UNREACHABLE(`cannot reach the cloud at ${c.url}: ${err.cause?.message ?? err.message}`);
};

/** A JSON call (30 s timeout). */
export async function call(c: Conn, method: string, path: string, body?: unknown) {
  let r: HttpAnswer;
  try {
    r = await httpCall(`${c.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${c.token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    throw unreachable(c, e);
  }
  return answer(`${method} ${path.split("?")[0]}`, r.status, r.body.toString("utf8"));
}

/**
 * POSTs `file` (`size` bytes) as the raw body, read and sent in chunks with a Content-Length (a
 * server over its limit answers 413 at once). `onSent` sees the bytes sent so far. An answer that
 * comes before the whole body was sent (a refusal) is the result; the rest is not sent.
 */
export function postFile(
  c: Conn,
  path: string,
  file: string,
  size: number,
  onSent?: (n: number) => void,
): Promise<Record<string, unknown>> {
  const u = new URL(`${c.url}${path}`);
  const what = `POST ${u.pathname}`;
  return new Promise((resolve, reject) => {
    let done = false;
    const settle = (f: () => void) => {
      if (done) return;
      done = true;
      f();
    };
    const src = createReadStream(file);
    const req = (u.protocol === "https:" ? https : http).request(u, {
      method: "POST",
      headers: {
        authorization: `Bearer ${c.token}`,
        "content-type": "application/octet-stream",
        "content-length": String(size),
      },
    });
    req.setTimeout(120_000, () => req.destroy(new Error("no answer for 120 s")));
    let responded = false;
    req.on("response", (res) => {
      responded = true;
      src.destroy(); // a refusal comes early: stop reading the file
      const chunks: Buffer[] = [];
      res.on("data", (b: Buffer) => chunks.push(b));
      res.on("end", () => {
        // a request answered before its body was all sent cannot be finished: close its connection
        if (sent < size) req.destroy();
        settle(() => {
          try {
            resolve(answer(what, res.statusCode ?? 0, Buffer.concat(chunks).toString("utf8")));
          } catch (e) {
            reject(e);
          }
        });
      });
      res.on("error", (e) => settle(() => reject(unreachable(c, e))));
    });
    // EPIPE / ECONNRESET after an early answer: the answer is what counts
    req.on("error", (e) => {
      if (!responded) settle(() => reject(unreachable(c, e)));
    });
    let sent = 0;
    src.on("data", (b) => {
      sent += b.length;
      onSent?.(sent);
    });
    src.on("error", (e) =>
      settle(() => {
        req.destroy();
        reject(ERR_UPLOAD_FILE(`${file}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      }),
    );
    src.pipe(req);
  });
}

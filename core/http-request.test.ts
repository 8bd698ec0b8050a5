import { spawn } from "node:child_process";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpCall } from "./http-request.ts";

// Two local servers (two origins): redirects, credentials, bodies, a stall.
let a: Server;
let b: Server;
const seen: Array<{
  origin: string;
  url: string;
  method: string;
  headers: IncomingHttpHeaders;
  body: string;
}> = [];
const base = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

function serve(name: string) {
  return createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({ origin: name, url: req.url!, method: req.method!, headers: req.headers, body });
      if (req.url === "/to-b") return res.writeHead(302, { location: `${base(b)}/end` }).end();
      if (req.url === "/to-self") return res.writeHead(301, { location: "/end" }).end();
      if (req.url === "/loop") return res.writeHead(302, { location: "/loop" }).end();
      if (req.url === "/stall") return; // never answers
      if (req.url === "/refuse")
        return res.writeHead(409, { "content-type": "application/json" }).end('{"no":1}');
      res.writeHead(200).end(`${name}:${req.method}:${body}`);
    });
  });
}

beforeAll(async () => {
  a = serve("a");
  b = serve("b");
  await Promise.all([a, b].map((s) => new Promise<void>((r) => s.listen(0, "127.0.0.1", r))));
});
afterAll(() => {
  a.closeAllConnections();
  b.closeAllConnections();
  a.close();
  b.close();
});

describe("httpCall (core/http-request.ts): fetch's behaviour over node:http", () => {
  it("follows redirects; credentials from the URL go to their own origin only", async () => {
    const u = new URL(`${base(a)}/to-self`);
    u.username = "cam";
    u.password = "p@ss word";
    seen.length = 0;
    const r = await httpCall(u.href);
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe("a:GET:");
    const auth = `Basic ${Buffer.from("cam:p@ss word").toString("base64")}`;
    expect(seen.map((s) => [s.url, s.headers.authorization])).toEqual([
      ["/to-self", auth],
      ["/end", auth],
    ]);
    seen.length = 0;
    u.pathname = "/to-b";
    await httpCall(u.href, { headers: { cookie: "k=v", accept: "image/jpeg" } });
    expect(seen[1]).toMatchObject({ origin: "b", url: "/end" });
    expect(seen[1]!.headers.authorization).toBeUndefined();
    expect(seen[1]!.headers.cookie).toBeUndefined();
    expect(seen[1]!.headers.accept).toBe("image/jpeg");
  });

  it("stops after 5 redirects and answers the last 3xx; POST is never redirected", async () => {
    seen.length = 0;
    const r = await httpCall(`${base(a)}/loop`);
    expect(r.status).toBe(302);
    expect(seen).toHaveLength(6);
    const p = await httpCall(`${base(a)}/to-b`, { method: "POST", body: "x" });
    expect(p.status).toBe(302);
  });

  it("sends a body with its length and returns any status with its body", async () => {
    const r = await httpCall(`${base(a)}/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"ä":1}',
    });
    expect(r.body.toString()).toBe('a:POST:{"ä":1}');
    expect(seen.at(-1)!.headers["content-length"]).toBe(String(Buffer.byteLength('{"ä":1}')));
    const no = await httpCall(`${base(a)}/refuse`);
    expect(no.status).toBe(409);
    expect(no.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(no.body.toString())).toEqual({ no: 1 });
  });

  it("rejects with the signal's reason on a stall, with the socket's error when nobody listens, and on other schemes", async () => {
    const err = await httpCall(`${base(a)}/stall`, { signal: AbortSignal.timeout(200) }).catch(
      (e: Error) => e,
    );
    expect((err as Error).name).toBe("TimeoutError");
    const refused = await httpCall("http://127.0.0.1:1/").catch((e: Error) => e);
    expect((refused as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
    await expect(httpCall("ftp://127.0.0.1/")).rejects.toThrow(/ftp: URLs are not supported/);
  });

  it("works in node's lite mode, where fetch cannot (its parser is WebAssembly)", async () => {
    const lite = async (code: string) => {
      const child = spawn(
        process.execPath,
        ["--no-expose-wasm", "--lite-mode", "--import", "tsx", "--input-type=module", "-e", code],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c) => (stdout += c));
      child.stderr.on("data", (c) => (stderr += c));
      const status = await new Promise((r) => child.on("exit", r));
      return { status, stdout, stderr };
    };
    const mod = JSON.stringify(join(import.meta.dirname, "http-request.ts"));
    const ours = await lite(`
      const { httpCall } = await import(${mod});
      const r = await httpCall(${JSON.stringify(`${base(a)}/to-self`)});
      process.stdout.write(JSON.stringify({ body: r.body.toString(), wasm: typeof WebAssembly }));`);
    expect(ours.stderr).toBe("");
    expect(ours.status).toBe(0);
    expect(JSON.parse(ours.stdout)).toEqual({ body: "a:GET:", wasm: "undefined" });
    const theirs = await lite(`await fetch(${JSON.stringify(`${base(a)}/end`)});`);
    expect(theirs.status).not.toBe(0);
    expect(theirs.stderr).toMatch(/WebAssembly is not defined/);
  });
});

import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDataset } from "../../models/synth/dataset.ts";
import { cliInProcess } from "../../test/helpers/cli.ts";
import { waitFor } from "../../test/helpers/wait-for.ts";
import { cloudModules } from "../modules.ts";
import { tar, uploadFixture } from "./test/upload-kit.ts";
import { expireUploads } from "./upload-store.ts";

/** A tar.gz of every `<pig>/<frame>` of a herd folder. */
function tarGzOf(dir: string): Promise<Buffer> {
  const p = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((r) => p.on("end", () => r(gzipSync(Buffer.concat(chunks)))));
  p.on("data", (c) => chunks.push(c));
  for (const pig of readdirSync(dir))
    for (const f of readdirSync(join(dir, pig)))
      p.entry({ name: `${pig}/${f}` }, readFileSync(join(dir, pig, f)));
  p.finalize();
  return done;
}

const TOKENS = { officer: "cli-upload-officer-01", auditor: "cli-upload-auditor-01" };
const DAY = 86_400_000;

describe("barnlink model upload / uploads / upload-delete against the production API", async () => {
  const { fresh, root, herdDataDir, uploads, ctx, modules, api } = await uploadFixture(
    "upload-cli-test",
    TOKENS,
    {
      maxUploadBytes: 1024 * 1024,
      uploadRetention: 7 * DAY,
    },
  );
  const adapt = modules.adapt!;
  let app: Awaited<ReturnType<typeof api>>;
  let url = "";
  const good = join(root, "herd.tar.gz");
  beforeAll(async () => {
    app = await api();
    await app.listen({ port: 0, host: "127.0.0.1" });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const synth = join(root, "synth");
    await generateDataset({ dir: synth, pigs: 3, perPig: 4, seed: 5, size: 64 });
    writeFileSync(good, await tarGzOf(synth));
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await fresh.drop();
  });

  const cli = (args: string[], token = TOKENS.officer) =>
    cliInProcess([...args, "--url", url, "--token", token]);
  const list = async (herd?: string) => {
    const r = await cli(["model", "uploads", "--json", ...(herd ? ["--herd", herd] : [])]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout).uploads as Array<Record<string, unknown>>;
  };

  it("streams an archive, prints its id (--json: the upload), and lists it with its expiry", async () => {
    const tty = Object.getOwnPropertyDescriptor(process.stderr, "isTTY");
    Object.defineProperty(process.stderr, "isTTY", { value: true, configurable: true });
    let r: Awaited<ReturnType<typeof cli>>;
    try {
      r = await cli(["model", "upload", good, "--herd", "hill"]);
    } finally {
      if (tty) Object.defineProperty(process.stderr, "isTTY", tty);
      else delete (process.stderr as { isTTY?: boolean }).isTTY;
    }
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^hill-\d{8}-\d{6}-[0-9a-f]{6}$/);
    expect(r.stderr).toMatch(/\(100%\)/); // progress on a terminal
    expect(r.stderr).toMatch(/herd hill: 3 pigs, 12 frames/);
    expect(
      readdirSync(join(uploads, id), { withFileTypes: true }).filter((e) => e.isDirectory()),
    ).toHaveLength(3);

    const j = await cli(["model", "upload", good, "--herd", "dale", "--json"]);
    expect(j.code, j.stderr).toBe(0);
    expect(j.stderr).not.toMatch(/%/); // no progress with --json (nor off a terminal)
    const out = JSON.parse(j.stdout);
    expect(out.job).toBeNull();
    expect(out.upload).toMatchObject({ herd: "dale", pigs: 3, frames: 12, uploadedBy: "officer-1" });

    const hill = await list("hill");
    expect(hill.map((u) => u.id)).toEqual([id]);
    expect(hill[0]).toMatchObject({ pigs: 3, frames: 12, usedBy: null });
    expect(hill[0]!.expiresAt).toBe((hill[0]!.uploadedAt as number) + 7 * DAY);
    expect((await list()).length).toBe(2);
    const text = await cli(["model", "uploads"], TOKENS.auditor); // reading is any role's
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^${id}\\s+hill\\s+3\\s+12\\s`, "m"));
  });

  it("--start-job queues the adapt job; delete is refused (409) while it is queued, done once it is cancelled", async () => {
    const r = await cli(["model", "upload", good, "--herd", "moor", "--start-job", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const { upload, job } = JSON.parse(r.stdout);
    expect(job).toMatchObject({ herd: "moor", status: "queued", input: { frames: { upload: upload.id } } });
    expect((await list("moor"))[0]!.usedBy).toBe(job.id);

    const busy = await cli(["model", "upload-delete", upload.id]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toMatch(/\[BL_ADAPT_UPLOAD_IN_USE\]/);
    expect(busy.stderr).toContain(job.id);
    expect(existsSync(join(uploads, upload.id))).toBe(true);
    // a second job for the herd is refused, and the message says the upload itself is kept
    const again = await cli(["model", "upload", good, "--herd", "moor", "--start-job"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(
      /upload moor-\S+ is stored, but the adapt job was not started.*\[BL_CONFLICT\]/,
    );

    const auditor = await cli(["model", "upload-delete", upload.id], TOKENS.auditor);
    expect([auditor.code, /\[BL_FORBIDDEN\]/.test(auditor.stderr)]).toEqual([2, true]);
    const cancel = await app.inject({
      method: "DELETE",
      url: `/api/v1/models/adapt-jobs/${job.id}`,
      headers: { authorization: `Bearer ${TOKENS.officer}` },
    });
    expect(cancel.statusCode).toBe(200);
    const del = await cli(["model", "upload-delete", upload.id]);
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout).toMatch(`deleted upload ${upload.id}`);
    expect(existsSync(join(uploads, upload.id))).toBe(false);
    expect((await list("moor")).map((u) => u.id)).not.toContain(upload.id);
    const gone = await cli(["model", "upload-delete", upload.id]);
    expect([gone.code, /\[BL_NOT_FOUND\]/.test(gone.stderr)]).toEqual([2, true]);
    const bad = await cli(["model", "upload-delete", "../herds"]);
    expect([bad.code, /\[BL_VALIDATION\]/.test(bad.stderr)]).toEqual([2, true]);
    // a job cannot be started on a deleted upload
    const late = await app.inject({
      method: "POST",
      url: "/api/v1/models/adapt-jobs",
      headers: { authorization: `Bearer ${TOKENS.officer}` },
      payload: { herd: "moor", frames: { upload: upload.id } },
    });
    expect(late.statusCode).toBe(404);
  });

  it("a refused upload exits non-zero with the server's code, and leaves nothing on the server", async () => {
    const before = readdirSync(uploads).sort();
    const junk = join(root, "junk.tar");
    writeFileSync(junk, "this is not an archive at all. ".repeat(100));
    const big = join(root, "big.tar");
    writeFileSync(big, Buffer.alloc(3 * 1024 * 1024, 7)); // over adapt.maxUploadBytes (1 MiB)
    const cases: Array<[string, string[], number, string, string?]> = [
      ["bad archive", ["model", "upload", junk, "--herd", "h"], 2, "BL_ADAPT_ARCHIVE"],
      ["too large", ["model", "upload", big, "--herd", "h"], 2, "BL_ADAPT_TOO_LARGE"],
      ["wrong token", ["model", "upload", good, "--herd", "h"], 2, "BL_UNAUTHORIZED", "not-the-token-at-all"],
      ["auditor", ["model", "upload", good, "--herd", "h"], 2, "BL_FORBIDDEN", TOKENS.auditor],
      ["bad herd", ["model", "upload", good, "--herd", "a b"], 2, "BL_VALIDATION"],
      ["missing file", ["model", "upload", join(root, "nope.tar.gz"), "--herd", "h"], 2, "BL_UPLOAD_FILE"],
      ["a folder", ["model", "upload", root, "--herd", "h"], 2, "BL_UPLOAD_FILE"],
      ["no herd", ["model", "upload", good], 2, "BL_USAGE"],
      ["no archive", ["model", "upload", "--herd", "h"], 2, "BL_USAGE"],
      ["base without job", ["model", "upload", good, "--herd", "h", "--base", "v1"], 2, "BL_USAGE"],
    ];
    for (const [what, args, code, err, token] of cases) {
      const r = await cli(args, token);
      expect({ what, code: r.code, err: r.stderr.match(/\[(BL_\w+)\]/)?.[1] }).toEqual({ what, code, err });
      expect(r.stdout, what).toBe("");
      expect(readdirSync(uploads).sort(), what).toEqual(before);
    }
    expect((await cli(["model", "upload", big, "--herd", "h"])).stderr).toMatch(/HTTP 413/);
  });

  it("a bad URL is a usage error; an unreachable cloud or a 5xx exits 1 with a code", async () => {
    const run = (u: string) =>
      cliInProcess(["model", "upload", good, "--herd", "h", "--api", u, "--token", TOKENS.officer]);
    const notUrl = await run("cloud.example.org");
    expect([notUrl.code, notUrl.stderr]).toEqual([2, expect.stringMatching(/not a URL.*\[BL_USAGE\]/s)]);
    const ftp = await run("ftp://cloud.example.org");
    expect([ftp.code, ftp.stderr]).toEqual([2, expect.stringMatching(/only http.*\[BL_USAGE\]/s)]);
    // a port nothing listens on: a server started and closed again
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const closed = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    await new Promise((r) => s.close(r));
    const down = await run(closed);
    expect([down.code, down.stderr]).toEqual([
      1,
      expect.stringMatching(/cannot reach.*\[BL_CLOUD_UNREACHABLE\]/),
    ]);
    // a server error keeps its code; a proxy's HTML page is not barnlink's API
    const fail = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        const html = req.url?.includes("html");
        res.writeHead(html ? 502 : 500, { "content-type": html ? "text/html" : "application/json" });
        res.end(
          html ? "<h1>Bad gateway</h1>" : JSON.stringify({ error: { code: "BL_INTERNAL", message: "boom" } }),
        );
      });
    });
    await new Promise<void>((r) => fail.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(fail.address() as AddressInfo).port}`;
    try {
      const e500 = await run(base);
      expect([e500.code, e500.stderr]).toEqual([1, expect.stringMatching(/HTTP 500: boom \[BL_INTERNAL\]/)]);
      const e502 = await cliInProcess(["model", "uploads", "--url", `${base}/html`, "--token", "t"]);
      expect([e502.code, e502.stderr]).toEqual([
        1,
        expect.stringMatching(/HTTP 502.*\[BL_CLOUD_UNREACHABLE\]/),
      ]);
    } finally {
      await new Promise((r) => fail.close(r));
    }
  });

  it("retention: uploads past adapt.uploadRetention are removed unless a queued or running job uses them", async () => {
    const up = async (herd: string, job: boolean) => {
      const r = await cli([
        "model",
        "upload",
        good,
        "--herd",
        herd,
        "--json",
        ...(job ? ["--start-job"] : []),
      ]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { upload: { id: string }; job: { id: string } | null };
    };
    const old = await up("fen", false);
    const used = await up("wold", true);
    const ids = () => readdirSync(uploads).filter((e) => !e.startsWith("."));
    // not yet expired: nothing goes
    expect(await expireUploads(ctx.db, herdDataDir, 7 * DAY, Date.now())).toEqual([]);
    expect(await expireUploads(ctx.db, herdDataDir, 0, Date.now() + 365 * DAY)).toEqual([]); // 0: kept
    const removed = await expireUploads(ctx.db, herdDataDir, 7 * DAY, Date.now() + 8 * DAY);
    expect(removed).toContain(old.upload.id);
    expect(removed).not.toContain(used.upload.id);
    expect(ids()).toEqual([used.upload.id]); // every other upload of this file is past it too
    // once its job has ended, the worker's own sweep removes it
    await app.inject({
      method: "DELETE",
      url: `/api/v1/models/adapt-jobs/${used.job!.id}`,
      headers: { authorization: `Bearer ${TOKENS.officer}` },
    });
    const worker = cloudModules({
      ...modules,
      adapt: { ...adapt, uploadRetention: 1, uploadSweepMs: 50, pollMs: 60_000 },
    }).jobs[0]!(ctx);
    try {
      await waitFor(() => ids().length === 0 || undefined, "the expired upload to be swept");
    } finally {
      await worker.stop();
    }
  });
});

import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromRoot } from "../../core/paths.ts";
import { generateDataset } from "../../models/synth/dataset.ts";
import { waitFor } from "../../test/helpers/wait-for.ts";
import { cloudModules } from "../modules.ts";
import { tar, uploadFixture } from "./test/upload-kit.ts";

type Entry = { name: string; body?: Buffer | string; type?: string; linkname?: string };

/** A tar of the entries (files by default), with the end-of-archive marker. */
function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((r) => p.on("end", () => r(Buffer.concat(chunks))));
  p.on("data", (c) => chunks.push(c));
  for (const e of entries) {
    const { body, ...h } = e;
    if (body === undefined) p.entry({ type: "file", ...h, size: 0 });
    else p.entry({ type: "file", ...h }, body);
  }
  p.finalize();
  return done;
}

/** Entries `<prefix><pig>/<file>` for every frame of a synthetic herd folder. */
function herdEntries(dir: string, prefix = ""): Entry[] {
  return readdirSync(dir).flatMap((pig) =>
    readdirSync(join(dir, pig)).map((f) => ({
      name: `${prefix}${pig}/${f}`,
      body: readFileSync(join(dir, pig, f)),
    })),
  );
}

const TOKENS = { officer: "upload-officer-token-01", auditor: "upload-auditor-token-01" };
const auth = (role: keyof typeof TOKENS) => ({ authorization: `Bearer ${TOKENS[role]}` });
const END = ["succeeded", "refused", "failed", "cancelled"];
const MAX = 2 * 1024 * 1024;

describe("herd uploads (POST /api/v1/models/herd-uploads) through the production API", async () => {
  const { fresh, root, herdDataDir, uploads, ctx, modules, api } = await uploadFixture(
    "upload-test",
    TOKENS,
    {
      maxUploadBytes: MAX,
      command: [process.execPath, fromRoot("bin/barnlink.js")],
      pollMs: 300,
    },
  );
  let app: Awaited<ReturnType<typeof api>>;
  let stop: Array<() => Promise<void> | void> = [];
  let good: Entry[];
  beforeAll(async () => {
    app = await api();
    // The queue is in the database: a worker of the same modules runs what the API queued.
    stop = cloudModules(modules)
      .jobs.slice(0, 1)
      .map((j) => {
        const s = j(ctx);
        return () => s.stop();
      });
    const synth = join(root, "synth");
    await generateDataset({ dir: synth, pigs: 5, perPig: 8, seed: 13, size: 80 });
    good = herdEntries(synth, "batch-7/");
  }, 120_000);
  afterAll(async () => {
    for (const s of stop) await s();
    await app?.close();
    await fresh.drop();
  });

  const upload = (body: Buffer, o: { herd?: string; role?: keyof typeof TOKENS; type?: string } = {}) =>
    app.inject({
      method: "POST",
      url: `/api/v1/models/herd-uploads${o.herd === "" ? "" : `?herd=${o.herd ?? "hill"}`}`,
      headers: { ...auth(o.role ?? "officer"), "content-type": o.type ?? "application/gzip" },
      payload: body,
    });

  it("unpacks a tar.gz of <pigId>/<frame>.jpg, skips what is not a frame, and an adapt job trains on it", async () => {
    const extra: Entry[] = [
      { name: "batch-7/", type: "directory" },
      { name: "batch-7/README.txt", body: "labelled at placement" },
      { name: "batch-7/.DS_Store", body: "x" },
      { name: "batch-7/pig-x/._001.jpg", body: "resource fork" },
      { name: "batch-7/pig-x/fake.jpg", body: "not a jpeg at all" },
    ];
    const res = await upload(gzipSync(await tarOf([...extra, ...good])));
    expect(res.statusCode, res.body).toBe(201);
    const up = res.json().upload;
    expect(up).toMatchObject({ herd: "hill", pigs: 5, frames: 40, uploadedBy: "officer-1" });
    expect(up.folder).toBe(`uploads/${up.id}`);
    expect(up.skipped.count).toBe(4);
    expect(up.skipped.files.map((f: { file: string }) => f.file).sort()).toEqual([
      "batch-7/.DS_Store",
      "batch-7/README.txt",
      "batch-7/pig-x/._001.jpg",
      "batch-7/pig-x/fake.jpg",
    ]);
    // the top folder is dropped: the upload is <pigId>/<frame>, as `model adapt` reads it
    const dir = join(herdDataDir, up.folder);
    const pigs = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
    expect(pigs).toHaveLength(6); // the 5 pigs, and pig-x whose one "jpeg" was not an image
    expect(readdirSync(join(dir, "pig-x"))).toEqual([]);

    // a plain tar (no gzip) is taken too
    const plain = await upload(await tarOf(good.map((e) => ({ ...e, name: e.name.slice(8) }))), {
      herd: "other",
      type: "application/x-tar",
    });
    expect([plain.statusCode, plain.json().upload?.frames]).toEqual([201, 40]);

    const job = await app.inject({
      method: "POST",
      url: "/api/v1/models/adapt-jobs",
      headers: auth("officer"),
      payload: { herd: "hill", frames: { upload: up.id }, training: { epochs: 1, shots: 2 } },
    });
    expect(job.statusCode, job.body).toBe(202);
    const id = job.json().job.id as string;
    const j = await waitFor(
      async () => {
        const r = await app.inject({ url: `/api/v1/models/adapt-jobs/${id}`, headers: auth("auditor") });
        const v = r.json().job;
        return END.includes(v.status) ? v : undefined;
      },
      "the adapt job on the upload to end",
      { timeoutMs: 900_000, intervalMs: 300 },
    );
    expect(j.error).toBeNull();
    expect(["succeeded", "refused"]).toContain(j.status);
    expect(j.result.data.upload).toBe(up.id);
    expect(j.result.card?.data?.images ?? j.result.adapted).toBeTruthy();

    // another herd's upload, an unknown one and a malformed id are refused before a job is queued
    const job2 = (frames: unknown, herd = "hill2") =>
      app.inject({
        method: "POST",
        url: "/api/v1/models/adapt-jobs",
        headers: auth("officer"),
        payload: { herd, frames },
      });
    const other = await job2({ upload: up.id });
    expect([other.statusCode, other.json().error.code]).toEqual([409, "BL_CONFLICT"]);
    const none = await job2({ upload: "hill2-20260101-000000-abcdef" });
    expect([none.statusCode, none.json().error.code]).toEqual([404, "BL_NOT_FOUND"]);
    const bad = await job2({ upload: "../herds" });
    expect([bad.statusCode, bad.json().error.code]).toEqual([400, "BL_ADAPT_PATH"]);
  }, 900_000);

  it("refuses unsafe, corrupt, truncated or oversized archives with a coded 4xx, and keeps nothing of them", async () => {
    mkdirSync(uploads, { recursive: true });
    const before = readdirSync(uploads).sort();
    const pigs = good.map((e) => ({ ...e, name: e.name.slice(8) }));
    const okTar = await tarOf(pigs);
    const jpeg = pigs[0]!.body as Buffer;
    const zeros = Buffer.alloc(6 * 1024 * 1024);
    const cases: Array<[string, Promise<Buffer> | Buffer, number, string, Parameters<typeof upload>[1]?]> = [
      ["auditor", okTar, 403, "BL_FORBIDDEN", { role: "auditor" }],
      ["no herd", okTar, 400, "BL_VALIDATION", { herd: "" }],
      ["bad herd", okTar, 400, "BL_VALIDATION", { herd: "a%2Fb" }],
      ["json", Buffer.from("{}"), 415, "BL_HTTP_UNSUPPORTED_MEDIA", { type: "application/json" }],
      ["dot-dot", tarOf([...pigs, { name: "../evil.jpg", body: jpeg }]), 400, "BL_ADAPT_PATH"],
      ["dot-dot inside", tarOf([...pigs, { name: "pig-a/../../x.jpg", body: jpeg }]), 400, "BL_ADAPT_PATH"],
      ["absolute", tarOf([...pigs, { name: "/etc/pig/x.jpg", body: jpeg }]), 400, "BL_ADAPT_PATH"],
      ["backslash", tarOf([...pigs, { name: "pig\\..\\x.jpg", body: jpeg }]), 400, "BL_ADAPT_PATH"],
      [
        "symlink",
        tarOf([{ name: "pig-l", type: "symlink", linkname: "/etc" }, ...pigs]),
        400,
        "BL_ADAPT_PATH",
      ],
      [
        "hard link",
        tarOf([...pigs, { name: "pig-l/1.jpg", type: "link", linkname: pigs[0]!.name }]),
        400,
        "BL_ADAPT_PATH",
      ],
      [
        "device",
        tarOf([...pigs, { name: "pig-d/null.jpg", type: "character-device" }]),
        400,
        "BL_ADAPT_PATH",
      ],
      ["fifo", tarOf([...pigs, { name: "pig-d/f.jpg", type: "fifo" }]), 400, "BL_ADAPT_PATH"],
      ["pig id", tarOf([...pigs, { name: "pig a/1.jpg", body: jpeg }]), 400, "BL_ADAPT_ARCHIVE"],
      ["twice", tarOf([...pigs, pigs[0]!]), 400, "BL_ADAPT_ARCHIVE"],
      ["two layouts", tarOf([...pigs, { name: "top/pig-z/1.jpg", body: jpeg }]), 400, "BL_ADAPT_ARCHIVE"],
      ["cut in an entry", okTar.subarray(0, Math.floor(okTar.length / 2) + 100), 400, "BL_ADAPT_ARCHIVE"],
      ["cut between entries", okTar.subarray(0, okTar.length - 1024), 400, "BL_ADAPT_ARCHIVE"],
      ["cut gzip", gzipSync(okTar).subarray(0, 5000), 400, "BL_ADAPT_ARCHIVE"],
      ["not a tar", Buffer.from("hello, this is not an archive".repeat(40)), 400, "BL_ADAPT_ARCHIVE"],
      [
        "one pig",
        tarOf(pigs.filter((e) => e.name.startsWith(pigs[0]!.name.split("/")[0]!))),
        422,
        "BL_ADAPT_NO_FRAMES",
      ],
      ["empty", Buffer.alloc(0), 400, "BL_ADAPT_ARCHIVE"],
      ["too large", Buffer.concat([okTar, zeros]), 413, "BL_ADAPT_TOO_LARGE"],
      // a small gzip that unpacks past the limit
      [
        "unpacks too large",
        gzipSync(await tarOf([...pigs, { name: "pig-z/big.jpg", body: zeros }])),
        413,
        "BL_ADAPT_TOO_LARGE",
      ],
    ];
    for (const [what, body, status, code, o] of cases) {
      const r = await upload(await body, { type: "application/octet-stream", ...o });
      expect({ what, status: r.statusCode, code: r.json().error?.code }).toEqual({ what, status, code });
      expect(readdirSync(uploads).sort(), what).toEqual(before);
    }
    const anon = await app.inject({
      method: "POST",
      url: "/api/v1/models/herd-uploads?herd=h",
      payload: okTar,
    });
    expect(anon.statusCode).toBe(401);
    expect(existsSync(join(herdDataDir, "evil.jpg"))).toBe(false);
  }, 120_000);
});

import { statSync } from "node:fs";
import { BarnlinkError, ERR_USAGE } from "../../core/errors.ts";
import { args, type CommandSpec, need, out } from "../cli-kit.ts";
import { type Conn, call, conn, ERR_UPLOAD_FILE, postFile } from "./cloud-http.ts";

// `barnlink model upload | uploads | upload-delete`: a herd's labelled frames sent to the cloud's
// herd adaptation (POST/GET/DELETE /api/v1/models/herd-uploads; docs/pig-faces.md). Plain HTTP with
// an officer's (or admin's) token, as `barnlink fleet`: these run on an installer's laptop.

const net = {
  url: { type: "string" },
  api: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean" },
} as const;
const NET = "[--url URL] [--token TOKEN] [--json]";
const NET_HELP =
  "  --url URL (or --api URL, or BARNLINK_URL; default http://127.0.0.1:8080)  --token TOKEN (or BARNLINK_TOKEN)";

interface Upload {
  id: string;
  herd: string;
  pigs: number;
  frames: number;
  bytes: number;
  uploadedAt: number;
  skipped: { count: number; files: Array<{ file: string; reason: string }> };
  usedBy?: string | null;
  expiresAt?: number | null;
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const iso = (t: number | null | undefined) =>
  t ? new Date(t).toISOString().slice(0, 16).replace("T", " ") : "–";

/** Progress on stderr, redrawn in place at most 5 times a second: only on a terminal, never with --json or --quiet. */
function progress(size: number, on: boolean) {
  if (!on || !process.stderr.isTTY) return { sent: undefined, end: () => {} };
  let last = 0;
  const draw = (n: number) =>
    process.stderr.write(`\rsent ${mib(n)} of ${mib(size)} (${Math.floor((100 * n) / Math.max(size, 1))}%)`);
  return {
    sent: (n: number) => {
      if (Date.now() - last < 200 && n < size) return;
      last = Date.now();
      draw(n);
    },
    end: () => process.stderr.write("\n"),
  };
}

function archiveSize(file: string): number {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(file);
  } catch (e) {
    throw ERR_UPLOAD_FILE(
      `${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String(e)}`,
    );
  }
  if (!st.isFile()) throw ERR_UPLOAD_FILE(`${file}: not a file (give the .tar or .tar.gz itself)`);
  return st.size;
}

const q = encodeURIComponent;

const uploadUsage = [
  `barnlink model upload ARCHIVE --herd ID [--start-job [--base V] [--version V]] [--quiet] ${NET}`,
  "  sends a .tar or .tar.gz of <pigId>/<frame>.jpg (optionally under one top folder) to the cloud,",
  "  streamed from disk; prints the upload id (an adapt job names it as frames: {upload: id}) on",
  "  stdout, and with --start-job the job id on the next line; counts and skipped entries on stderr.",
  "  --herd ID           the herd the frames are of",
  "  --start-job         then start the herd's adapt job on it (POST /api/v1/models/adapt-jobs)",
  "  --base V  --version V   the job's base model and model version (defaults: shipped, herd-<herd>-<time>)",
  "  --quiet             no progress on stderr (shown only on a terminal)",
  "  --json              one JSON object on stdout: {upload, job}",
  NET_HELP,
].join("\n");
export const modelUploadCmd: CommandSpec = {
  name: "model upload",
  summary:
    "Upload a herd's labelled frames (.tar/.tar.gz) to the cloud for herd adaptation; --start-job to train",
  usage: uploadUsage,
  async run(argv) {
    const a = args(
      argv,
      {
        ...net,
        herd: { type: "string" },
        "start-job": { type: "boolean" },
        base: { type: "string" },
        version: { type: "string" },
        quiet: { type: "boolean" },
      },
      uploadUsage,
      true,
    );
    const v = a.values;
    if (a.positionals.length > 1)
      throw ERR_USAGE(`one archive at a time, got ${a.positionals.length}\nusage: ${uploadUsage}`);
    const file = need(a.positionals[0], "ARCHIVE (a .tar or .tar.gz)", uploadUsage);
    const herd = need(v.herd, "--herd ID", uploadUsage);
    if ((v.base || v.version) && !v["start-job"])
      throw ERR_USAGE(`--base and --version are the adapt job's: give --start-job\nusage: ${uploadUsage}`);
    const c = conn(v, uploadUsage);
    const size = archiveSize(file);
    const p = progress(size, !v.quiet && !v.json);
    let upload: Upload;
    try {
      upload = (await postFile(c, `/api/v1/models/herd-uploads?herd=${q(herd)}`, file, size, p.sent))
        .upload as Upload;
    } finally {
      p.end();
    }
    if (!v.json) {
      out(upload.id);
      process.stderr.write(
        `uploaded to herd ${upload.herd}: ${upload.pigs} pigs, ${upload.frames} frames, ${mib(upload.bytes)}${upload.skipped.count ? `; ${upload.skipped.count} entries skipped` : ""}\n`,
      );
      for (const s of upload.skipped.files) process.stderr.write(`  skipped ${s.file}: ${s.reason}\n`);
    }
    if (!v["start-job"]) {
      if (v.json) out(JSON.stringify({ upload, job: null }));
      return 0;
    }
    const job = await startJob(c, herd, upload.id, v).catch((e: unknown) => {
      if (v.json && e instanceof BarnlinkError)
        out(JSON.stringify({ upload, job: null, error: { code: e.code, message: e.message } }));
      throw e;
    });
    if (v.json) out(JSON.stringify({ upload, job }));
    else {
      out(job.id);
      process.stderr.write(`adapt job ${job.id} ${job.status}: GET /api/v1/models/adapt-jobs/${job.id}\n`);
    }
    return 0;
  },
};

async function startJob(c: Conn, herd: string, upload: string, v: { base?: string; version?: string }) {
  try {
    const r = await call(c, "POST", "/api/v1/models/adapt-jobs", {
      herd,
      frames: { upload },
      ...(v.base ? { base: v.base } : {}),
      ...(v.version ? { version: v.version } : {}),
    });
    return r.job as { id: string; status: string };
  } catch (e) {
    if (!(e instanceof BarnlinkError)) throw e;
    // the upload is kept: say so, so the job can be started again on it
    throw new BarnlinkError(
      e.code,
      `upload ${upload} is stored, but the adapt job was not started: ${e.message}`,
      e.statusCode,
      e.details,
    );
  }
}

const listUsage = [`barnlink model uploads [--herd ID] ${NET}`, NET_HELP].join("\n");
export const modelUploadsCmd: CommandSpec = {
  name: "model uploads",
  summary: "List the cloud's herd uploads: id, herd, pigs, frames, size, uploaded, job using it, expiry",
  usage: listUsage,
  async run(argv) {
    const a = args(argv, { ...net, herd: { type: "string" } }, listUsage);
    const c = conn(a.values, listUsage);
    const path = `/api/v1/models/herd-uploads${a.values.herd ? `?herd=${q(a.values.herd)}` : ""}`;
    const uploads = (await call(c, "GET", path)).uploads as Upload[];
    if (a.values.json) {
      out(JSON.stringify({ uploads }));
      return 0;
    }
    if (uploads.length === 0) {
      out("no uploads");
      return 0;
    }
    const rows = [
      ["id", "herd", "pigs", "frames", "size", "uploaded (UTC)", "used by", "expires (UTC)"],
      ...uploads.map((u) => [
        u.id,
        u.herd,
        String(u.pigs),
        String(u.frames),
        mib(u.bytes),
        iso(u.uploadedAt),
        u.usedBy ?? "–",
        iso(u.expiresAt),
      ]),
    ];
    const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows)
      out(
        r
          .map((x, i) => x.padEnd(w[i]!))
          .join("  ")
          .trimEnd(),
      );
    return 0;
  },
};

const deleteUsage = [`barnlink model upload-delete ID ${NET}`, NET_HELP].join("\n");
export const modelUploadDeleteCmd: CommandSpec = {
  name: "model upload-delete",
  summary: "Delete a herd upload from the cloud (refused while an adapt job trains on it)",
  usage: deleteUsage,
  async run(argv) {
    const a = args(argv, net, deleteUsage, true);
    const id = need(a.positionals[0], "ID (an upload id: barnlink model uploads)", deleteUsage);
    const c = conn(a.values, deleteUsage);
    const r = await call(c, "DELETE", `/api/v1/models/herd-uploads/${q(id)}`);
    if (a.values.json) out(JSON.stringify(r));
    else out(`deleted upload ${id}`);
    return 0;
  },
};

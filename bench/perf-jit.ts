// On-CPU attribution of a benchmark's agent with Linux `perf` and V8's JIT dump
// (`BENCH_BIG_BARN_PERF=DIR`, bench/README.md). V8's own `--cpu-prof` sampler counts a thread blocked
// in a native call (sharp waiting on libvips, SQLite's fsync) as busy, and earlier passes ranked the
// big barn's costs by it (docs/performance.md, tenth pass). `perf` samples only time on a CPU, every
// thread; the agent's `--perf-prof` writes a jit-<pid>.dump that `perf inject --jit` uses to name
// the JavaScript frames (a perf map would name code that moved or was collected by its old address).
import { spawn } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Node flags for an agent profiled this way; it must run with `cwd` set to its folder (the dump lands there). */
export const PERF_NODE_FLAGS = ["--perf-prof", "--interpreted-frames-native-stack"];

const run = (cmd: string, args: string[], stdout: "ignore" | "pipe" = "ignore") =>
  new Promise<string>((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["ignore", stdout, "pipe"] });
    let out = "";
    let err = "";
    p.stdout?.on("data", (c: Buffer) => {
      out += c;
    });
    p.stderr?.on("data", (c: Buffer) => {
      err += c;
    });
    p.on("error", reject);
    p.on("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args[0]} exited ${code}: ${err.trim()}`)),
    );
  });

/**
 * Records every thread of `pid` for `seconds`: one sample per millisecond of CPU time (a fixed
 * period, so samples × 1 ms is the CPU used; a frequency target undercounts bursty threads).
 */
export function perfRecord(pid: number, seconds: number, dir: string): Promise<string> {
  const data = join(dir, "perf.data");
  const args = ["record", "-k", "1", "-e", "cpu-clock", "-c", "1000000", "-g", "-p", String(pid)];
  return run("perf", [...args, "-o", data, "--", "sleep", String(seconds)]).then(() => data);
}

/** Names the JIT frames (`perf inject --jit`), then writes DIR/attribution.txt; returns its text. */
export async function perfReport(dir: string, pid: number, seconds: number): Promise<string> {
  const data = join(dir, "perf.data");
  const dump = readdirSync(dir).find((f) => f === `jit-${pid}.dump`);
  const jit = join(dir, "perf.jit.data");
  if (dump) await run("perf", ["inject", "--jit", "-i", data, "-o", jit]);
  const script = await run(
    "perf",
    ["script", "-i", dump && existsSync(jit) ? jit : data, "-F", "tid,ip,sym,dso"],
    "pipe",
  );
  const text = attribution(parsePerfScript(script), String(pid), seconds);
  writeFileSync(join(dir, "attribution.txt"), text);
  return text;
}

export interface PerfSample {
  tid: string;
  /** Innermost first: symbol and the object it is in. */
  frames: Array<{ sym: string; dso: string }>;
}

/** `perf script -F tid,ip,sym,dso` output: a line with the thread id, then one frame a line. */
export function parsePerfScript(text: string): PerfSample[] {
  const out: PerfSample[] = [];
  let cur: PerfSample | undefined;
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      if (cur) out.push(cur);
      cur = undefined;
      continue;
    }
    // A sample's first line is its thread id alone (perf indents it by a space or not).
    if (/^\s*\d+\s*$/.test(line)) {
      cur = { tid: line.trim(), frames: [] };
      continue;
    }
    const m = /^\s*[0-9a-f]+ (.*) \((.*)\)$/.exec(line);
    if (cur && m) cur.frames.push({ sym: m[1]!, dso: m[2]! });
  }
  if (cur) out.push(cur);
  return out;
}

const short = (s: string) =>
  s.replace(/file:\/\/\/\S*?\/node_modules\/\.cache\/[^/]+\//, "").replace(/\S*\/node_modules\//, "");

/** The outermost frame of our code or of a package on the stack: which task the sample worked for. */
const task = (s: PerfSample): string => {
  const own = s.frames.filter((f) => /^JS:/.test(f.sym) && !/ node:/.test(f.sym));
  if (own.length > 0) return short(own.at(-1)!.sym);
  const all = s.frames.map((f) => f.sym).join(" ");
  if (/Scaveng|MarkCompact|Heap::/.test(all)) return "(V8 garbage collection)";
  if (/Compiler|compiler::|Turbofan|Maglev/.test(all)) return "(V8 compiler)";
  if (/epoll/.test(all)) return "(event loop: epoll)";
  return "(node internals, no JS of ours)";
};

function table(title: string, counts: Map<string, number>, total: number, seconds: number, top: number) {
  const rows = [...counts].sort((a, b) => b[1] - a[1]).slice(0, top);
  const ms = (n: number) => (n / seconds).toFixed(2);
  return [
    title,
    ...rows.map(
      ([k, n]) => `  ${((100 * n) / total).toFixed(1).padStart(5)} %  ${ms(n).padStart(6)} ms/s  ${k}`,
    ),
  ];
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

/**
 * Where the CPU went: by thread (main against the libuv and libvips workers), by object on the
 * main thread and the workers (libvips, the kernel, node, JIT code…), and the main thread by task
 * (the outermost frame of our code or a package's). Samples are milliseconds of CPU.
 */
export function attribution(samples: PerfSample[], mainTid: string, seconds: number): string {
  const total = samples.length;
  const threads = new Map<string, number>();
  const mainDso = new Map<string, number>();
  const workerDso = new Map<string, number>();
  const tasks = new Map<string, number>();
  for (const s of samples) {
    const main = s.tid === mainTid;
    bump(threads, main ? "main thread" : "other threads (libuv pool, libvips)");
    const leaf = s.frames[0]?.dso ?? "?";
    const obj = /^\/tmp\/perf-|jitted-/.test(leaf) ? "JIT code" : leaf.split("/").at(-1)!;
    bump(main ? mainDso : workerDso, obj);
    if (main) bump(tasks, task(s));
  }
  const m = threads.get("main thread") ?? 0;
  return [
    `${total} samples of 1 ms CPU over ${seconds} s: ${(total / seconds / 10).toFixed(2)} % of one core`,
    ...table("by thread", threads, total, seconds, 5),
    ...table("main thread, by object (leaf frame)", mainDso, total, seconds, 10),
    ...table("other threads, by object (leaf frame)", workerDso, total, seconds, 10),
    ...table(`main thread by task (${m} samples)`, tasks, total, seconds, 40),
    "",
  ].join("\n");
}

import { describe, expect, it } from "vitest";
import { attribution, parsePerfScript } from "./perf-jit.ts";

// Three samples as `perf script -F tid,ip,sym,dso` prints them after `perf inject --jit` (trimmed
// from a big-barn run): a Modbus append on the main thread, an HTTP read with no JS of ours, and a
// libvips worker.
const SCRIPT = ` 9777 
	         1529a25 Builtins_FindOrderedHashMapEntry (/usr/bin/node)
	             888 JS:*appendTx file:///w/node_modules/.cache/barnlink-bench/chunks/agent-run-I.mjs:1863:14 (/w/jitted-9777-9379.so)
	            23f1 JS:*poll file:///w/node_modules/.cache/barnlink-bench/chunks/source-R.mjs:467:13 (/w/jitted-9777-9591.so)
	              c3 Builtin:AsyncFunctionAwaitResolveClosure (/w/jitted-9777-236.so)
	          7bbbe6 node::SpinEventLoopInternal (/usr/bin/node)

 9777 
	             6ff JS:*nextTick node:internal/process/task_queues:103:18 (/w/jitted-9777-9274.so)
	             1b4 JS:^socketOnData node:_http_client:537:22 (/w/jitted-9777-9129.so)
	          9dd94f node::LibuvStreamWrap::OnUvRead (/usr/bin/node)

 9785 
	          3a0f11 [unknown] (/w/node_modules/@img/sharp-libvips-linux-x64/lib/libvips-cpp.so.8.17.3)
	           97c2e malloc (/usr/lib/x86_64-linux-gnu/libc.so.6)
`;

describe("perf attribution (bench/perf-jit.ts)", () => {
  it("parses each sample's thread and frames, innermost first", () => {
    const s = parsePerfScript(SCRIPT);
    expect(s.map((x) => x.tid)).toEqual(["9777", "9777", "9785"]);
    expect(s[0]!.frames[0]).toEqual({ sym: "Builtins_FindOrderedHashMapEntry", dso: "/usr/bin/node" });
    expect(s[0]!.frames).toHaveLength(5);
    expect(s[2]!.frames[1]!.sym).toBe("malloc");
  });

  it("charges a main-thread sample to the outermost frame of our code, workers by object", () => {
    const text = attribution(parsePerfScript(SCRIPT), "9777", 1);
    expect(text).toMatch(/^3 samples of 1 ms CPU over 1 s: 0.30 % of one core/);
    expect(text).toMatch(/66\.7 %\s+2\.00 ms\/s {2}main thread/);
    expect(text).toMatch(/33\.3 %\s+1\.00 ms\/s {2}libvips-cpp\.so\.8\.17\.3/);
    // the append is Modbus's poll's work; node's own HTTP frames are not a task of ours
    expect(text).toMatch(/33\.3 %\s+1\.00 ms\/s {2}JS:\*poll chunks\/source-R\.mjs:467:13/);
    expect(text).toContain("(node internals, no JS of ours)");
    expect(text).not.toContain("appendTx");
    expect(text).toMatch(/JIT code/);
  });
});

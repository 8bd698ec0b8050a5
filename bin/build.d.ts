import type { BuildOptions } from "esbuild";

export const ROOT: string;
export const CLI_OUTFILE: string;
export function bundleOptions(entry: string, outfile: string): BuildOptions;
export function buildCli(outfile?: string, opts?: { metafile?: boolean }): Promise<string>;
/** TEXT with each non-ASCII character as its `\uXXXX` escape (what the build does to every module). */
export function asciiEscaped(text: string): string;

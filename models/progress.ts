/** The progress bar moved to core/progress.ts (the CLI uses it beyond models); kept here for imports. */
export { ProgressBar } from "../core/progress.ts";

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", "dist/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Integration tests share real services (Mosquitto, PostgreSQL); each test uses its own
    // database schema / topic prefix so files can run in parallel on 2 cores.
    maxWorkers: 2,
  },
});

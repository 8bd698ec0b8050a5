import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", "dist/**"],
    // Deadlines only bound a test that is already failing (tests wait on conditions, never on the
    // clock): generous, so a machine with both cores busy makes the suite slower, never red.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: "forks",
    // Integration tests share real services (Mosquitto, PostgreSQL); each test uses its own
    // database schema / topic prefix so files can run in parallel on 2 cores.
    maxWorkers: 2,
  },
});

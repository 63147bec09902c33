import os from "node:os";
import path from "node:path";
import { defineConfig } from "vitest/config";

const root = import.meta.dirname;

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@\/(.*)$/, replacement: path.join(root, "$1") },
      { find: /^server-only$/, replacement: path.join(root, "tests/support/empty.ts") },
    ],
  },
  test: {
    include: ["tests/e2e/**/*.test.ts"],
    setupFiles: ["tests/support/setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // two files at a time even on 2 cores (vitest's default there is one): each file starts its own
    // production server, PostgreSQL and Chromium and mostly waits on them, and the dashboard file is the
    // long pole the others run beside
    maxWorkers: Math.max(2, os.availableParallelism() - 1),
    pool: "forks",
  },
});

import { defineConfig } from "vitest/config";

/** `npm run test:bypass`: the bypass techniques against the installed agent (root, network namespaces). */
export default defineConfig({
  test: {
    include: ["tests/bypass/**/*.bypass.ts"],
    globalSetup: ["packages/db/src/testing/global-setup.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 180_000,
    reporters: ["./tools/test/bypass-reporter.ts"],
  },
});

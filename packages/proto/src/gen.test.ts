/**
 * The checked-in src/gen must be exactly what `buf generate` makes from proto/ today, and proto/
 * must pass `buf lint` (STANDARD + COMMENTS: every message, field and enum value is documented).
 * Both need the buf binary, which @bufbuild/buf brings in its platform package
 * (@bufbuild/buf-linux-x64 here); without it the tests skip and say so.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);

/** node_modules/.bin of this package and of the workspace root, where protoc-gen-es lives. */
function binPath(): string {
  const dirs: string[] = [];
  for (let dir = packageDir; ; dir = dirname(dir)) {
    dirs.push(join(dir, "node_modules", ".bin"));
    if (dirname(dir) === dir) break;
  }
  return [...dirs, process.env.PATH ?? ""].join(delimiter);
}

const cacheDir = mkdtempSync(join(tmpdir(), "bb-buf-cache-"));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

function runBuf(args: string[]) {
  const bufScript = require.resolve("@bufbuild/buf/bin/buf");
  return spawnSync(process.execPath, [bufScript, ...args], {
    cwd: packageDir,
    encoding: "utf8",
    env: { ...process.env, PATH: binPath(), BUF_CACHE_DIR: cacheDir },
    timeout: 120_000,
  });
}

function bufUnavailableReason(): string | undefined {
  try {
    const result = runBuf(["--version"]);
    if (result.status === 0) return undefined;
    return `buf --version failed: ${result.error?.message ?? result.stderr.trim()}`;
  } catch (error) {
    return `@bufbuild/buf is not installed: ${(error as Error).message}`;
  }
}

const unavailable = bufUnavailableReason();

function listFiles(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();
}

describe("buf", () => {
  test("generated code is up to date (src/gen equals a fresh `buf generate`)", (context) => {
    if (unavailable !== undefined) context.skip(`skipped: buf binary unavailable (${unavailable})`);
    const outDir = mkdtempSync(join(tmpdir(), "bb-proto-gen-"));
    try {
      const result = runBuf(["generate", "--output", outDir]);
      expect(result.status, result.stderr).toBe(0);
      const fresh = join(outDir, "src", "gen");
      const checkedIn = join(packageDir, "src", "gen");
      const freshFiles = listFiles(fresh);
      expect(freshFiles.length).toBeGreaterThan(0);
      expect(listFiles(checkedIn), "run `npm run generate -w @betblocker/proto`").toEqual(freshFiles);
      const stale = freshFiles.filter(
        (file) => !readFileSync(join(fresh, file)).equals(readFileSync(join(checkedIn, file))),
      );
      expect(stale, "src/gen is stale: run `npm run generate -w @betblocker/proto`").toEqual([]);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });

  test("the .proto files pass buf lint (every message, field and enum value documented)", (context) => {
    if (unavailable !== undefined) context.skip(`skipped: buf binary unavailable (${unavailable})`);
    const result = runBuf(["lint"]);
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });
});

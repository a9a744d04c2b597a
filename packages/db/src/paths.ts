import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: the nearest ancestor whose package.json declares workspaces. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      const parsed = JSON.parse(readFileSync(manifest, "utf8")) as { workspaces?: unknown };
      if (parsed.workspaces) return dir;
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error("repository root not found (no package.json with workspaces above this file)");
    dir = parent;
  }
}

export function migrationsDir(): string {
  return join(repoRoot(), "migrations");
}

/** Project-local state (embedded database, keys, published lists). Overridable with BETBLOCKER_DATA_DIR. */
export function dataDir(): string {
  return resolve(process.env.BETBLOCKER_DATA_DIR ?? join(repoRoot(), ".betblocker"));
}

/** The shared public data folder that sits beside the repository (tests, benchmarks, demo). */
export function sharedDataDir(): string {
  return resolve(repoRoot(), "..", "shared", "data");
}

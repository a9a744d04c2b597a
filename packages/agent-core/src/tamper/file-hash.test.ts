import { mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { FileHasher, sha256Text } from "./file-hash";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bb-hash-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("FileHasher", () => {
  test("hashes a file, returns null when it is missing, and sees a rewrite at once", async () => {
    const hasher = new FileHasher();
    const path = join(dir, "f");
    expect(await hasher.digest(path)).toBeNull();
    writeFileSync(path, "one");
    expect(await hasher.digest(path)).toEqual({ sha256: sha256Text("one"), size: 3 });
    writeFileSync(path, "two");
    expect(await hasher.digest(path)).toEqual({ sha256: sha256Text("two"), size: 3 });
    unlinkSync(path);
    expect(await hasher.digest(path)).toBeNull();
  });

  test("an unchanged stat is served from cache until the full re-hash interval passes", async () => {
    let now = 1_000_000;
    const hasher = new FileHasher(() => now, 10 * 60_000);
    const path = join(dir, "f");
    writeFileSync(path, "one");
    expect((await hasher.digest(path))?.sha256).toBe(sha256Text("one"));
    expect(hasher.hashedCount).toBe(1);
    now += 60_000;
    expect((await hasher.digest(path))?.sha256).toBe(sha256Text("one"));
    expect(hasher.hashedCount).toBe(1);
    now += 10 * 60_000;
    expect((await hasher.digest(path))?.sha256).toBe(sha256Text("one"));
    expect(hasher.hashedCount).toBe(2);
    // Same size, mtime set back: ctime still moves, so the file is re-read.
    const before = new Date(now);
    writeFileSync(path, "two");
    utimesSync(path, before, before);
    expect((await hasher.digest(path))?.sha256).toBe(sha256Text("two"));
    expect(hasher.hashedCount).toBe(3);
  });
});

import { generateKeyPairSync } from "node:crypto";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BlocklistMatcher,
  compileBlocklist,
  createDelta,
  isBlockedCode,
  sha256,
} from "@betblocker/common";
import { create, SyncResponseSchema } from "@betblocker/proto";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { BlocklistStore, type ListTamperReport } from "./blocklist-store";

const keys = generateKeyPairSync("ed25519");
let dir: string;
let tampers: ListTamperReport[];
let swaps: BlocklistMatcher[];

function list(version: number, domains: string[], prev: Uint8Array | null): Uint8Array {
  return compileBlocklist({
    version,
    createdAt: 1_700_000_000_000 + version,
    prevHash: prev ? sha256(prev) : null,
    rules: {
      block: domains.map((domain) => ({ domain, category: "casino" })),
      wildcard: [],
      allow: [],
      pattern: [],
    },
    privateKey: keys.privateKey,
  });
}

function snapshot(bytes: Uint8Array, version: number) {
  return create(SyncResponseSchema, {
    result: { case: "fullSnapshot", value: { snapshot: bytes, version } },
  });
}

function newStore(publicKey = keys.publicKey, minimumVersion = 0): BlocklistStore {
  return new BlocklistStore({
    minimumVersion: () => minimumVersion,
    path: join(dir, "blocklist.bbl"),
    pinnedPublicKey: publicKey,
    target: { setMatcher: (matcher) => swaps.push(matcher) },
    onTamper: (report) => tampers.push(report),
  });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bb-store-"));
  tampers = [];
  swaps = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("BlocklistStore", () => {
  test("a snapshot not newer than the list held is a rollback: refused, reported, old list kept", () => {
    const v1 = list(1, ["one.example"], null);
    const v2 = list(2, ["one.example", "two.example"], v1);
    const store = newStore();
    expect(store.apply(snapshot(v2, 2))).toMatchObject({ kind: "updated", to: 2 });
    expect(store.apply(snapshot(v1, 1))).toMatchObject({ kind: "refused" });
    expect(store.version).toBe(2);
    expect(tampers).toHaveLength(1);
    expect(tampers[0]?.details).toContain("rollback");
    expect(isBlockedCode(swaps.at(-1)?.matchName("two.example") ?? 0)).toBe(true);
  });

  test("a list signed by another key is refused as tampering", () => {
    const other = generateKeyPairSync("ed25519");
    const foreign = compileBlocklist({
      version: 1,
      createdAt: 1,
      prevHash: null,
      rules: { block: [{ domain: "x.example", category: "casino" }], wildcard: [], allow: [], pattern: [] },
      privateKey: other.privateKey,
    });
    const store = newStore();
    expect(store.apply(snapshot(foreign, 1))).toMatchObject({ kind: "refused" });
    expect(store.version).toBe(0);
    expect(swaps).toHaveLength(0);
    expect(tampers).toHaveLength(1);
  });

  test("a delta chain with a delta made for another base is refused and the list held stays", () => {
    const v1 = list(1, ["one.example"], null);
    const v2 = list(2, ["one.example", "two.example"], v1);
    const other1 = list(1, ["other.example"], null);
    const store = newStore();
    store.apply(snapshot(v1, 1));
    const wrongBase = createDelta(other1, list(2, ["other.example", "two.example"], other1), keys.privateKey);
    const chain = (deltas: Uint8Array[]) =>
      create(SyncResponseSchema, { result: { case: "deltaChain", value: { deltas, toVersion: 2 } } });
    expect(store.apply(chain([wrongBase]))).toMatchObject({ kind: "refused" });
    expect(store.version).toBe(1);
    expect(tampers).toHaveLength(1);
    expect(store.apply(chain([createDelta(v1, v2, keys.privateKey)]))).toMatchObject({
      kind: "updated",
      to: 2,
    });
  });

  test("loads the verified list from disk; a file that does not verify is quarantined and reported", () => {
    const v1 = list(1, ["one.example"], null);
    newStore().apply(snapshot(v1, 1));
    const reloaded = newStore();
    expect(reloaded.loadFromDisk()).toBe(true);
    expect(reloaded.version).toBe(1);

    const tampered = new Uint8Array(v1);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
    writeFileSync(join(dir, "blocklist.bbl"), tampered);
    const broken = newStore();
    expect(broken.loadFromDisk()).toBe(false);
    expect(broken.version).toBe(0);
    expect(existsSync(join(dir, "blocklist.bbl"))).toBe(false);
    expect(readdirSync(dir).some((name) => name.startsWith("blocklist.bbl.corrupt-"))).toBe(true);
    expect(tampers).toHaveLength(1);
  });

  test("with no list held, a snapshot older than the recorded version is still a rollback", () => {
    const v1 = list(1, ["one.example"], null);
    const v2 = list(2, ["one.example", "two.example"], v1);
    const store = newStore(keys.publicKey, 2);
    expect(store.apply(snapshot(v1, 1))).toMatchObject({ kind: "refused" });
    expect(tampers).toHaveLength(1);
    expect(store.apply(snapshot(v2, 2))).toMatchObject({ kind: "updated", to: 2 });
  });
});

describe("BlocklistStore.verifyOnDisk", () => {
  const hexOf = (bytes: Uint8Array) => Buffer.from(sha256(bytes)).toString("hex");

  test("the file as installed verifies; with no list held there is nothing to check", () => {
    const store = newStore();
    expect(store.verifyOnDisk()).toEqual({ ok: true });
    store.apply(snapshot(list(1, ["one.example"], null), 1));
    expect(store.verifyOnDisk()).toEqual({ ok: true });
    const reloaded = newStore();
    reloaded.loadFromDisk();
    expect(reloaded.verifyOnDisk()).toEqual({ ok: true });
  });

  test("an altered file is reported with both hashes and rewritten; the in-memory matcher is not swapped", () => {
    const v1 = list(1, ["one.example"], null);
    const store = newStore();
    store.apply(snapshot(v1, 1));
    const swapsBefore = swaps.length;
    const matcher = store.matcher;
    const path = join(dir, "blocklist.bbl");
    const edited = Buffer.from(v1);
    edited[edited.length - 1] = (edited[edited.length - 1] as number) ^ 1;
    writeFileSync(path, edited);

    const result = store.verifyOnDisk();
    expect(result).toMatchObject({
      ok: false,
      expectedSha256: hexOf(v1),
      actualSha256: hexOf(edited),
      restored: true,
    });
    expect(result.ok ? "" : result.details).toContain("altered");
    expect(result.ok ? "" : result.details).not.toContain("one.example");
    expect(store.matcher).toBe(matcher);
    expect(swaps).toHaveLength(swapsBefore);
    expect(Buffer.from(readFileSync(path)).equals(Buffer.from(v1))).toBe(true);
    expect(store.verifyOnDisk()).toEqual({ ok: true });
    expect(tampers).toHaveLength(0);
  });

  test("a deleted file is not ok; with restore: false it stays deleted and is reported again", () => {
    const v1 = list(1, ["one.example"], null);
    const store = newStore();
    store.apply(snapshot(v1, 1));
    const path = join(dir, "blocklist.bbl");
    unlinkSync(path);
    const result = store.verifyOnDisk({ restore: false });
    expect(result).toMatchObject({ ok: false, expectedSha256: hexOf(v1), actualSha256: "", restored: false });
    expect(result.ok ? "" : result.details).toContain("deleted");
    expect(existsSync(path)).toBe(false);
    expect(store.verifyOnDisk({ restore: false }).ok).toBe(false);
    expect(store.verifyOnDisk().ok).toBe(false);
    expect(existsSync(path)).toBe(true);
    expect(store.verifyOnDisk()).toEqual({ ok: true });
  });

  test("an edit right after a successful check is caught (the stat cache does not hide it)", () => {
    const v1 = list(1, ["one.example"], null);
    const store = newStore();
    store.apply(snapshot(v1, 1));
    const t0 = Date.now();
    expect(store.verifyOnDisk({ now: t0 })).toEqual({ ok: true });
    const path = join(dir, "blocklist.bbl");
    const edited = Buffer.from(v1);
    edited[0] = (edited[0] as number) ^ 1;
    writeFileSync(path, edited);
    // Same size, new ctime: caught at once even within the 10-minute cache window.
    expect(store.verifyOnDisk({ now: t0 + 1000, restore: false }).ok).toBe(false);
    expect(store.verifyOnDisk({ now: t0 + 2000 }).ok).toBe(false);
    expect(store.verifyOnDisk({ now: t0 + 3000 })).toEqual({ ok: true });
  });
});

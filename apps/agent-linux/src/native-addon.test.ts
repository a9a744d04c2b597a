/** The release's native DNS addon is loaded only when the signed manifest lists it with this content. */
import { generateKeyPairSync } from "node:crypto";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createManifest } from "@betblocker/agent-core/tamper/manifest";
import { afterEach, describe, expect, it } from "vitest";
import { NATIVE_ADDON_FILE, verifiedNativeAddon } from "./native-addon";
import { MANIFEST_FILE } from "./version";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function release(files: string[]) {
  const dir = mkdtempSync(join(tmpdir(), "bb-native-addon-"));
  dirs.push(dir);
  writeFileSync(join(dir, "betblocker-agent.cjs"), "// agent\n");
  writeFileSync(join(dir, NATIVE_ADDON_FILE), "\x7fELF not really a library");
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  writeFileSync(
    join(dir, MANIFEST_FILE),
    await createManifest({ rootDir: dir, files, privateKey, agentVersion: "1.0.0" }),
  );
  const logs: string[] = [];
  return { dir, publicKey, logs, log: (line: string) => logs.push(line) };
}

describe("verifiedNativeAddon", () => {
  it("returns the addon's path when the signed manifest lists it with this content", async () => {
    const r = await release(["betblocker-agent.cjs", NATIVE_ADDON_FILE]);
    expect(await verifiedNativeAddon(r.dir, r.publicKey, r.log)).toBe(join(r.dir, NATIVE_ADDON_FILE));
    expect(r.logs).toEqual([]);
  });

  it("refuses a changed addon, one the manifest does not list, and a manifest signed by another key", async () => {
    const changed = await release(["betblocker-agent.cjs", NATIVE_ADDON_FILE]);
    appendFileSync(join(changed.dir, NATIVE_ADDON_FILE), "x");
    expect(await verifiedNativeAddon(changed.dir, changed.publicKey, changed.log)).toBeNull();
    expect(changed.logs).toEqual(["native DNS addon not loaded: it differs from the signed manifest"]);

    const unlisted = await release(["betblocker-agent.cjs"]);
    expect(await verifiedNativeAddon(unlisted.dir, unlisted.publicKey, unlisted.log)).toBeNull();
    expect(unlisted.logs).toEqual(["native DNS addon not loaded: the signed manifest does not list it"]);

    const other = await release(["betblocker-agent.cjs", NATIVE_ADDON_FILE]);
    const otherKey = generateKeyPairSync("ed25519").publicKey;
    expect(await verifiedNativeAddon(other.dir, otherKey, other.log)).toBeNull();
    expect(other.logs[0]).toMatch(/^native DNS addon not loaded: the manifest cannot be verified/);
  });

  it("says nothing outside a release or when no addon was shipped", async () => {
    const r = await release(["betblocker-agent.cjs"]);
    rmSync(join(r.dir, NATIVE_ADDON_FILE));
    expect(await verifiedNativeAddon(r.dir, r.publicKey, r.log)).toBeNull();
    expect(await verifiedNativeAddon(null, r.publicKey, r.log)).toBeNull();
    expect(await verifiedNativeAddon(r.dir, null, r.log)).toBeNull();
    expect(r.logs).toEqual([]);
  });
});

/**
 * The release's copy of the native DNS addon (packages/dns-native, `dns_native.node` beside the agent).
 * It runs inside the agent, so it is loaded only when the signed manifest lists it with exactly this
 * content; otherwise the forwarder uses Node's UDP path, and the integrity check reports the mismatch.
 */
import type { KeyObject } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sha256File } from "@betblocker/agent-core/tamper/file-hash";
import { verifyManifest } from "@betblocker/agent-core/tamper/manifest";
import { MANIFEST_FILE } from "./version";

export const NATIVE_ADDON_FILE = "dns_native.node";

/** Path of the release's addon when its manifest entry matches it, else null (and says why). */
export async function verifiedNativeAddon(
  installDir: string | null,
  publicKey: KeyObject | null,
  log: (message: string) => void,
): Promise<string | null> {
  if (installDir === null || publicKey === null) return null;
  const path = join(installDir, NATIVE_ADDON_FILE);
  if (!existsSync(path)) return null;
  const skip = (why: string): null => {
    log(`native DNS addon not loaded: ${why}`);
    return null;
  };
  let entry: { sha256: string; size: number } | undefined;
  try {
    const manifest = verifyManifest(readFileSync(join(installDir, MANIFEST_FILE), "utf8"), publicKey);
    entry = manifest.files.find((file) => file.path === NATIVE_ADDON_FILE);
  } catch (error) {
    return skip(`the manifest cannot be verified (${(error as Error).message})`);
  }
  if (entry === undefined) return skip("the signed manifest does not list it");
  try {
    const digest = await sha256File(path);
    if (digest.sha256 !== entry.sha256 || digest.size !== entry.size) {
      return skip("it differs from the signed manifest");
    }
  } catch (error) {
    return skip(`it cannot be read (${(error as Error).message})`);
  }
  return path;
}

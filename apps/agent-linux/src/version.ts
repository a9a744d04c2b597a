/**
 * Build-time facts. The release build (scripts/build.ts) replaces these globals through esbuild `define`:
 * the version, and the raw Ed25519 public key whose private half signed the installed files' manifest.
 * Run from source (tsx), there is no release key and the integrity check is off (and says so).
 */
import type { KeyObject } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { publicKeyFromRaw } from "@betblocker/common";

declare const __BETBLOCKER_AGENT_VERSION__: string | undefined;
declare const __BETBLOCKER_RELEASE_PUBLIC_KEY__: string | undefined;

export const AGENT_VERSION: string =
  typeof __BETBLOCKER_AGENT_VERSION__ === "string" ? __BETBLOCKER_AGENT_VERSION__ : "0.1.0-dev";

export function releasePublicKey(): KeyObject | null {
  const base64 =
    typeof __BETBLOCKER_RELEASE_PUBLIC_KEY__ === "string" ? __BETBLOCKER_RELEASE_PUBLIC_KEY__ : "";
  if (!base64) return null;
  return publicKeyFromRaw(new Uint8Array(Buffer.from(base64, "base64")));
}

/** The signed list of installed files, beside the agent's executable. */
export const MANIFEST_FILE = "manifest.json";

/** The file that is this agent: the single executable, or the bundle node runs. */
export function selfPath(): string {
  return isSingleExecutable() ? process.execPath : (process.argv[1] ?? process.execPath);
}

/** Directory of an installed release (a manifest beside the executable), else null. */
export function installedRoot(): string | null {
  const dir = dirname(selfPath());
  return existsSync(join(dir, MANIFEST_FILE)) ? dir : null;
}

export function isSingleExecutable(): boolean {
  try {
    // node:sea exists from Node 20.12; createRequire keeps the bundler from resolving it at build time.
    const sea = (process as unknown as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule?.(
      "node:sea",
    ) as { isSea(): boolean } | undefined;
    return sea?.isSea() ?? false;
  } catch {
    return false;
  }
}

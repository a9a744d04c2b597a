/**
 * Release build of the Linux agent: `npm run build:agent [-- --key FILE] [--out DIR] [--no-sea]`.
 *   <out>/bundle/betblocker-agent.cjs + manifest.json   one JavaScript file for the system's node
 *   <out>/sea/betblocker-agent + manifest.json          a single executable (Node SEA: node + the bundle)
 * plus dns_native.node in each when the native DNS addon was built (packages/dns-native).
 * Each manifest lists the files with their SHA-256 and is signed (Ed25519) with the release key, whose
 * public half is compiled into the bundle: the installed agent checks its own files against it.
 * --key: the release private key (PEM, PKCS#8). Without it a development key is made in <out> (never
 * commit it; a build signed with it says so at install).
 */
import { execFileSync } from "node:child_process";
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createManifest } from "@betblocker/agent-core/tamper/manifest";
import { rawPublicKey } from "@betblocker/common";
import { build } from "esbuild";
import { NATIVE_ADDON_FILE } from "../src/native-addon";
import { MANIFEST_FILE } from "../src/version";

const here = dirname(fileURLToPath(import.meta.url));
const appDir = resolve(here, "..");
const repoRoot = resolve(appDir, "../..");
/** The addon as `npm ci` builds it (packages/dns-native); absent when that build failed. */
const builtAddon = join(repoRoot, "packages/dns-native/build/Release/dns_native.node");

export interface BuildResult {
  bundleDir: string;
  seaDir: string | null;
  publicKeyBase64: string;
}

function releaseKey(keyFile: string | undefined, outDir: string): KeyObject {
  if (keyFile) return createPrivateKey(readFileSync(keyFile));
  const devKey = join(outDir, "release-dev.key");
  if (!existsSync(devKey)) {
    const { privateKey } = generateKeyPairSync("ed25519");
    mkdirSync(outDir, { recursive: true });
    writeFileSync(devKey, privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
  }
  return createPrivateKey(readFileSync(devKey));
}

export async function buildAgent(options: {
  outDir: string;
  keyFile?: string;
  sea: boolean;
}): Promise<BuildResult> {
  const outDir = resolve(options.outDir);
  const privateKey = releaseKey(options.keyFile, outDir);
  const publicKeyBase64 = Buffer.from(rawPublicKey(createPublicKey(privateKey))).toString("base64");
  const version = (JSON.parse(readFileSync(join(appDir, "package.json"), "utf8")) as { version: string })
    .version;

  const bundleDir = join(outDir, "bundle");
  rmSync(bundleDir, { recursive: true, force: true });
  mkdirSync(bundleDir, { recursive: true });
  const bundlePath = join(bundleDir, "betblocker-agent.cjs");
  await build({
    entryPoints: [join(appDir, "src/main.ts")],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    outfile: bundlePath,
    logLevel: "warning",
    banner: { js: "#!/usr/bin/env node" },
    // The optional native UDP listener is a .node file, which cannot be bundled: when it was built, the
    // release ships it beside the agent (dns_native.node, in the signed manifest); without it the agent
    // uses Node's UDP path (logged once).
    external: ["@betblocker/dns-native"],
    define: {
      __BETBLOCKER_AGENT_VERSION__: JSON.stringify(version),
      __BETBLOCKER_RELEASE_PUBLIC_KEY__: JSON.stringify(publicKeyBase64),
    },
  });
  chmodSync(bundlePath, 0o755);
  const addon = existsSync(builtAddon) ? [NATIVE_ADDON_FILE] : [];
  /** Put the addon (when built) beside `executable` in `dir` and sign the manifest of both. */
  const finishRelease = async (dir: string, executable: string): Promise<void> => {
    for (const file of addon) copyFileSync(builtAddon, join(dir, file));
    const files = [executable, ...addon];
    const manifest = await createManifest({ rootDir: dir, files, privateKey, agentVersion: version });
    writeFileSync(join(dir, MANIFEST_FILE), manifest);
  };
  await finishRelease(bundleDir, "betblocker-agent.cjs");

  let seaDir: string | null = null;
  if (options.sea) {
    seaDir = join(outDir, "sea");
    rmSync(seaDir, { recursive: true, force: true });
    mkdirSync(seaDir, { recursive: true });
    const blob = join(outDir, "sea-prep.blob");
    const seaConfig = join(outDir, "sea-config.json");
    writeFileSync(
      seaConfig,
      JSON.stringify({
        main: bundlePath,
        output: blob,
        disableExperimentalSEAWarning: true,
        useCodeCache: false,
      }),
    );
    execFileSync(process.execPath, ["--experimental-sea-config", seaConfig], { stdio: "pipe" });
    const exe = join(seaDir, "betblocker-agent");
    copyFileSync(process.execPath, exe);
    chmodSync(exe, 0o755);
    execFileSync(
      process.execPath,
      [
        join(repoRoot, "node_modules/postject/dist/cli.js"),
        exe,
        "NODE_SEA_BLOB",
        blob,
        "--sentinel-fuse",
        "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2",
      ],
      { stdio: "pipe" },
    );
    rmSync(blob, { force: true });
    rmSync(seaConfig, { force: true });
    await finishRelease(seaDir, "betblocker-agent");
  }
  return { bundleDir, seaDir, publicKeyBase64 };
}

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: {
      key: { type: "string" },
      out: { type: "string", default: join(appDir, "dist") },
      "no-sea": { type: "boolean", default: false },
    },
  });
  const started = performance.now();
  const result = await buildAgent({
    outDir: String(values.out),
    ...(values.key ? { keyFile: String(values.key) } : {}),
    sea: !values["no-sea"],
  });
  console.log(`bundle: ${result.bundleDir}/betblocker-agent.cjs`);
  if (result.seaDir) console.log(`single executable: ${result.seaDir}/betblocker-agent`);
  if (!values.key) console.log("signed with a development key (pass --key FILE for a release)");
  console.log(`built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  cli().catch((error: unknown) => {
    console.error((error as Error).message);
    process.exit(1);
  });
}

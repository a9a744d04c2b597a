/**
 * The release build: the bundle and the single executable (Node SEA) run, `install` copies a build whose
 * files match its signed manifest and writes a unit that systemd-analyze accepts, and refuses a build whose
 * file was changed after signing.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuildResult, buildAgent } from "../scripts/build";
import { NATIVE_ADDON_FILE } from "./native-addon";
import { AGENT_VERSION } from "./version";

const addonBuilt = existsSync(
  join(import.meta.dirname, "../../../packages/dns-native/build/Release", NATIVE_ADDON_FILE),
);

let dir: string;
let build: BuildResult;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "bb-agent-build-"));
  build = await buildAgent({ outDir: join(dir, "out"), sea: true });
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(command: string, args: string[]) {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 30_000 });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

describe("release build", () => {
  it("the single executable runs without node or the repository", () => {
    const exe = join(build.seaDir as string, "betblocker-agent");
    const version = run(exe, ["--version"]);
    expect(version.code).toBe(0);
    expect(version.out.trim()).toBe(
      JSON.parse(readFileSync(join(import.meta.dirname, "../package.json"), "utf8")).version,
    );
    expect(version.out.trim()).not.toBe(AGENT_VERSION); // the source build says "-dev"
    expect(run(exe, ["status", "--state-dir", join(dir, "none")])).toEqual({
      code: 3,
      out: "not enrolled\n",
    });
    expect(run(exe, ["frobnicate"]).code).toBe(2);
  });

  it("install copies the signed files and writes a unit systemd-analyze accepts", () => {
    const prefix = join(dir, "opt");
    const units = join(dir, "units");
    const result = run(process.execPath, [
      join(build.bundleDir, "betblocker-agent.cjs"),
      "install",
      "--prefix",
      prefix,
      "--unit-dir",
      units,
      "--config",
      join(dir, "etc/agent.toml"),
      "--state-dir",
      join(dir, "state"),
    ]);
    // The native DNS addon ships with the release when `npm ci` could build it.
    const files = ["betblocker-agent.cjs", ...(addonBuilt ? [NATIVE_ADDON_FILE] : [])];
    expect(result.out).toContain(`installed ${files.length} file(s)`);
    expect(result.code).toBe(0);
    for (const file of files) {
      expect(readFileSync(join(prefix, file))).toEqual(readFileSync(join(build.bundleDir, file)));
    }
    expect(existsSync(join(prefix, "manifest.json"))).toBe(true);
    const unit = readFileSync(join(units, "betblocker-agent.service"), "utf8");
    expect(unit).toContain(
      `ExecStart=${process.execPath} ${join(prefix, "betblocker-agent.cjs")} run --config`,
    );
    let hasAnalyze = true;
    try {
      execFileSync("systemd-analyze", ["--version"], { stdio: "ignore" });
    } catch {
      hasAnalyze = false;
    }
    if (hasAnalyze) {
      const verify = spawnSync("systemd-analyze", ["verify", join(units, "betblocker-agent.service")], {
        encoding: "utf8",
      });
      expect(verify.stderr.trim()).toBe("");
      expect(verify.status).toBe(0);
    }
  });

  it("install refuses a build whose file no longer matches the signed manifest", () => {
    const bundle = join(build.bundleDir, "betblocker-agent.cjs");
    appendFileSync(bundle, "\n// changed after signing\n");
    const result = run(process.execPath, [
      bundle,
      "install",
      "--prefix",
      join(dir, "opt2"),
      "--unit-dir",
      join(dir, "u2"),
    ]);
    expect(result.code).toBe(2);
    expect(result.out).toMatch(
      /refused: 1 file\(s\) differ from the signed manifest \(betblocker-agent\.cjs\)/,
    );
    expect(existsSync(join(dir, "opt2"))).toBe(false);
  });

  it("a source checkout is not a release: install says so", () => {
    const result = run(process.execPath, [
      join(import.meta.dirname, "../bin/betblocker-agent.js"),
      "install",
      "--prefix",
      join(dir, "opt3"),
    ]);
    expect(result.code).toBe(2);
    expect(result.out).toMatch(/install needs a release build/);
  });
});

import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { sha256Text } from "./file-hash";
import { checkFiles, createManifest, type ManifestErrorCode, verifyManifest } from "./manifest";

const keys = generateKeyPairSync("ed25519");
let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "bb-manifest-"));
  mkdirSync(join(root, "bin"));
  writeFileSync(join(root, "bin", "betblocker-agent"), "#!binary v1");
  writeFileSync(join(root, "betblocker-agent.service"), "[Unit]\n");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function manifestText(): Promise<string> {
  return createManifest({
    rootDir: root,
    files: ["bin/betblocker-agent", "betblocker-agent.service"],
    privateKey: keys.privateKey,
    agentVersion: "1.2.3",
  });
}

function codeOf(run: () => unknown): ManifestErrorCode | string {
  try {
    run();
    return "no error";
  } catch (error) {
    return (error as { code?: string }).code ?? `other: ${(error as Error).message}`;
  }
}

describe("integrity manifest", () => {
  test("a created manifest verifies and lists path, SHA-256 and size of each file", async () => {
    const manifest = verifyManifest(await manifestText(), keys.publicKey);
    expect(manifest.schema_version).toBe(1);
    expect(manifest.agent_version).toBe("1.2.3");
    expect(manifest.files).toEqual([
      { path: "betblocker-agent.service", sha256: sha256Text("[Unit]\n"), size: 7 },
      { path: "bin/betblocker-agent", sha256: sha256Text("#!binary v1"), size: 11 },
    ]);
    expect(await checkFiles(manifest, root)).toEqual([]);
  });

  test("formatting does not matter but any change to a signed field does", async () => {
    const parsed = JSON.parse(await manifestText());
    expect(verifyManifest(JSON.stringify(parsed), keys.publicKey).files).toHaveLength(2);
    const edited = {
      ...parsed,
      files: [{ ...parsed.files[0], sha256: sha256Text("other") }, parsed.files[1]],
    };
    expect(codeOf(() => verifyManifest(JSON.stringify(edited), keys.publicKey))).toBe("BAD_SIGNATURE");
    const version = { ...parsed, agent_version: "9.9.9" };
    expect(codeOf(() => verifyManifest(JSON.stringify(version), keys.publicKey))).toBe("BAD_SIGNATURE");
    const dropped = { ...parsed, files: parsed.files.slice(1) };
    expect(codeOf(() => verifyManifest(JSON.stringify(dropped), keys.publicKey))).toBe("BAD_SIGNATURE");
    const other = generateKeyPairSync("ed25519");
    expect(codeOf(() => verifyManifest(JSON.stringify(parsed), other.publicKey))).toBe("BAD_SIGNATURE");
  });

  test("bad JSON, wrong shape and unsafe paths are refused with their own codes", async () => {
    const parsed = JSON.parse(await manifestText());
    expect(codeOf(() => verifyManifest("{not json", keys.publicKey))).toBe("BAD_JSON");
    expect(codeOf(() => verifyManifest("[]", keys.publicKey))).toBe("BAD_SHAPE");
    expect(
      codeOf(() => verifyManifest(JSON.stringify({ ...parsed, schema_version: 2 }), keys.publicKey)),
    ).toBe("BAD_SHAPE");
    expect(codeOf(() => verifyManifest(JSON.stringify({ ...parsed, extra: 1 }), keys.publicKey))).toBe(
      "BAD_SHAPE",
    );
    const noSize = { ...parsed, files: [{ path: "a", sha256: sha256Text("a") }] };
    expect(codeOf(() => verifyManifest(JSON.stringify(noSize), keys.publicKey))).toBe("BAD_SHAPE");
    for (const path of ["../etc/passwd", "/etc/passwd", "bin/../../x", "bin//x", "./x", "C:/x", "a\\b"]) {
      const unsafe = { ...parsed, files: [{ path, sha256: sha256Text("a"), size: 1 }] };
      expect(
        codeOf(() => verifyManifest(JSON.stringify(unsafe), keys.publicKey)),
        path,
      ).toBe("UNSAFE_PATH");
    }
    await expect(
      createManifest({ rootDir: root, files: ["../x"], privateKey: keys.privateKey, agentVersion: "1" }),
    ).rejects.toMatchObject({ code: "UNSAFE_PATH" });
  });

  test("checkFiles reports a changed file with both hashes and a deleted one as missing", async () => {
    const manifest = verifyManifest(await manifestText(), keys.publicKey);
    writeFileSync(join(root, "bin", "betblocker-agent"), "#!binary patched");
    unlinkSync(join(root, "betblocker-agent.service"));
    expect(await checkFiles(manifest, root)).toEqual([
      { path: "betblocker-agent.service", expectedSha256: sha256Text("[Unit]\n"), actualSha256: "missing" },
      {
        path: "bin/betblocker-agent",
        expectedSha256: sha256Text("#!binary v1"),
        actualSha256: sha256Text("#!binary patched"),
      },
    ]);
  });
});

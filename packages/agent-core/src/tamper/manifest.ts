/**
 * Integrity manifest of the files the agent installed (binary, unit, config templates...): path
 * relative to an install root, SHA-256 and size of each, signed with Ed25519.
 *
 * The signature covers a canonical serialization (`canonicalManifestBytes`): UTF-8 JSON with a fixed
 * key order, files sorted by path, no whitespace. Verification rebuilds that serialization from the
 * parsed fields, so the file's own formatting does not matter, and unknown fields are refused (they
 * would not be covered by the signature).
 */
import type { KeyObject } from "node:crypto";
import { isAbsolute, join } from "node:path";
import { sign, verify } from "@betblocker/common";
import { type FileDigest, FileHasher, sha256File } from "./file-hash";

export const MANIFEST_SCHEMA_VERSION = 1;

export interface ManifestFile {
  /** Relative, "/"-separated, no "." / ".." / empty segments. */
  path: string;
  /** Lower-case hex SHA-256. */
  sha256: string;
  size: number;
}

export interface Manifest {
  schema_version: 1;
  agent_version: string;
  files: ManifestFile[];
  /** Base64 Ed25519 signature of `canonicalManifestBytes`. */
  signature: string;
}

export type ManifestErrorCode = "BAD_JSON" | "BAD_SHAPE" | "UNSAFE_PATH" | "BAD_SIGNATURE";

export class ManifestError extends Error {
  override readonly name = "ManifestError";

  constructor(
    readonly code: ManifestErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface FileMismatch {
  path: string;
  expectedSha256: string;
  /** SHA-256 found, or "missing" when the file is gone. */
  actualSha256: string | "missing";
}

/** Throws `UNSAFE_PATH` unless `path` is a plain relative path that stays under the root. */
export function assertSafeRelativePath(path: string): void {
  const unsafe = (why: string) =>
    new ManifestError("UNSAFE_PATH", `unsafe manifest path ${JSON.stringify(path)}: ${why}`);
  if (path.length === 0) throw unsafe("empty");
  if (path.includes("\0")) throw unsafe("contains NUL");
  if (path.includes("\\")) throw unsafe("contains a backslash");
  if (path.startsWith("/") || isAbsolute(path) || /^[A-Za-z]:/.test(path)) throw unsafe("absolute");
  for (const segment of path.split("/")) {
    if (segment === "" || segment === "." || segment === "..") throw unsafe(`segment "${segment}"`);
  }
}

/** The bytes the signature covers. */
export function canonicalManifestBytes(manifest: Omit<Manifest, "signature">): Uint8Array {
  const files = [...manifest.files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((file) => ({ path: file.path, sha256: file.sha256, size: file.size }));
  const canonical = {
    schema_version: manifest.schema_version,
    agent_version: manifest.agent_version,
    files,
  };
  return new TextEncoder().encode(JSON.stringify(canonical));
}

export interface CreateManifestOptions {
  rootDir: string;
  /** Relative to `rootDir`. */
  files: string[];
  privateKey: KeyObject;
  agentVersion: string;
}

/** Hash `files` under `rootDir` and return the signed manifest as JSON text (throws if a file is missing). */
export async function createManifest(options: CreateManifestOptions): Promise<string> {
  const seen = new Set<string>();
  const files: ManifestFile[] = [];
  for (const path of options.files) {
    assertSafeRelativePath(path);
    if (seen.has(path)) throw new ManifestError("BAD_SHAPE", `duplicate manifest path ${path}`);
    seen.add(path);
    const digest = await sha256File(join(options.rootDir, path));
    files.push({ path, sha256: digest.sha256, size: digest.size });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const unsigned = {
    schema_version: MANIFEST_SCHEMA_VERSION,
    agent_version: options.agentVersion,
    files,
  } as const;
  const signature = Buffer.from(sign(canonicalManifestBytes(unsigned), options.privateKey)).toString(
    "base64",
  );
  const manifest: Manifest = { ...unsigned, signature };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parse and verify a manifest; throws `ManifestError` with a code saying what is wrong. */
export function verifyManifest(text: string, publicKey: KeyObject): Manifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message quotes the text; the error may end up in an event, so it says no more.
    throw new ManifestError("BAD_JSON", "manifest is not valid JSON");
  }
  const manifest = parseShape(parsed);
  for (const file of manifest.files) assertSafeRelativePath(file.path);
  const signature = new Uint8Array(Buffer.from(manifest.signature, "base64"));
  const { signature: _omitted, ...unsigned } = manifest;
  if (!verify(canonicalManifestBytes(unsigned), signature, publicKey)) {
    throw new ManifestError("BAD_SIGNATURE", "manifest signature does not verify with the pinned key");
  }
  return manifest;
}

function parseShape(value: unknown): Manifest {
  const bad = (why: string) => new ManifestError("BAD_SHAPE", `manifest ${why}`);
  if (!isRecord(value)) throw bad("is not an object");
  checkKeys(value, ["schema_version", "agent_version", "files", "signature"], "manifest");
  if (value.schema_version !== MANIFEST_SCHEMA_VERSION) {
    throw bad(
      `schema_version must be ${MANIFEST_SCHEMA_VERSION}, got ${JSON.stringify(value.schema_version)}`,
    );
  }
  if (typeof value.agent_version !== "string") throw bad("agent_version must be a string");
  if (typeof value.signature !== "string" || !BASE64.test(value.signature)) {
    throw bad("signature must be base64 text");
  }
  if (!Array.isArray(value.files)) throw bad("files must be an array");
  const seen = new Set<string>();
  const files: ManifestFile[] = value.files.map((file: unknown, index: number) => {
    if (!isRecord(file)) throw bad(`files[${index}] is not an object`);
    checkKeys(file, ["path", "sha256", "size"], `manifest files[${index}]`);
    if (typeof file.path !== "string") throw bad(`files[${index}].path must be a string`);
    if (typeof file.sha256 !== "string" || !HEX_SHA256.test(file.sha256)) {
      throw bad(`files[${index}].sha256 must be 64 lower-case hex characters`);
    }
    if (typeof file.size !== "number" || !Number.isSafeInteger(file.size) || file.size < 0) {
      throw bad(`files[${index}].size must be a non-negative integer`);
    }
    if (seen.has(file.path)) throw bad(`has a duplicate path ${file.path}`);
    seen.add(file.path);
    return { path: file.path, sha256: file.sha256, size: file.size };
  });
  return {
    schema_version: MANIFEST_SCHEMA_VERSION,
    agent_version: value.agent_version,
    files,
    signature: value.signature,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkKeys(value: Record<string, unknown>, allowed: string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new ManifestError("BAD_SHAPE", `${where} has an unknown field ${key}`);
  }
  for (const key of allowed) {
    if (!(key in value)) throw new ManifestError("BAD_SHAPE", `${where} lacks ${key}`);
  }
}

/**
 * Compare the files on disk with a verified manifest; returns the mismatches in manifest order
 * (empty: all intact). Pass a `FileHasher` to reuse its stat cache across checks.
 */
export async function checkFiles(
  manifest: Manifest,
  rootDir: string,
  hasher: FileHasher = new FileHasher(),
): Promise<FileMismatch[]> {
  const mismatches: FileMismatch[] = [];
  for (const file of manifest.files) {
    // Re-checked here too: checkFiles may be handed a manifest that did not come from verifyManifest.
    assertSafeRelativePath(file.path);
    const digest: FileDigest | null = await hasher.digest(join(rootDir, file.path));
    if (!digest) {
      mismatches.push({ path: file.path, expectedSha256: file.sha256, actualSha256: "missing" });
    } else if (digest.sha256 !== file.sha256) {
      mismatches.push({ path: file.path, expectedSha256: file.sha256, actualSha256: digest.sha256 });
    }
  }
  return mismatches;
}

/**
 * Ed25519 signing key files.
 *
 * Layout: the private key is a PKCS#8 PEM file readable by its owner only (0600); the public key sits
 * beside it as `<private path>.pub`, an SPKI PEM file (0644). Generation never overwrites an existing
 * file, and loading a private key that group or others can read is refused: a leaked list-signing key
 * lets anyone push an "empty" blocklist to every enrolled device.
 */

import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { closeSync, fchmodSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { assertEd25519, keyIdHex, SigningKeyError } from "./signing";

const PRIVATE_FILE_MODE = 0o600;
const PUBLIC_FILE_MODE = 0o644;
const GROUP_OTHER_BITS = 0o077;

export interface GeneratedKeyFiles {
  readonly privatePath: string;
  readonly publicPath: string;
  /** Hex key id (first 8 bytes of SHA-256 of the raw public key). */
  readonly keyId: string;
}

export function publicKeyPathFor(privatePath: string): string {
  return `${privatePath}.pub`;
}

/**
 * Generate a fresh Ed25519 key pair and write it to `privatePath` (0600) and `privatePath.pub` (0644).
 * Throws `SigningKeyError("KEY_FILE_EXISTS")` if either file already exists (nothing is overwritten).
 */
export function generateSigningKeyFiles(privatePath: string): GeneratedKeyFiles {
  const publicPath = publicKeyPathFor(privatePath);
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const privatePem = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  const publicPem = publicKey.export({ format: "pem", type: "spki" }).toString();
  writeNewFile(privatePath, privatePem, PRIVATE_FILE_MODE);
  try {
    writeNewFile(publicPath, publicPem, PUBLIC_FILE_MODE);
  } catch (error) {
    // Never leave a private key behind whose public half could not be written.
    unlinkSync(privatePath);
    throw error;
  }
  return { privatePath, publicPath, keyId: keyIdHex(publicKey) };
}

/** Create `path` exclusively (O_EXCL) with `mode`, independent of the process umask. */
function writeNewFile(path: string, contents: string, mode: number): void {
  let fd: number;
  try {
    fd = openSync(path, "wx", mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw new SigningKeyError("KEY_FILE_EXISTS", `refusing to overwrite existing key file ${path}`);
    }
    throw error;
  }
  try {
    fchmodSync(fd, mode);
    writeSync(fd, contents);
  } finally {
    closeSync(fd);
  }
}

/**
 * Load an Ed25519 private key from a PKCS#8 PEM file. Throws `KEY_FILE_INSECURE_PERMISSIONS` when the
 * file is readable/writable by group or others (fix with `chmod 600 <file>`).
 */
export function loadPrivateKey(path: string): KeyObject {
  const mode = withKeyFileErrors(() => statSync(path), path).mode;
  if ((mode & GROUP_OTHER_BITS) !== 0) {
    throw new SigningKeyError(
      "KEY_FILE_INSECURE_PERMISSIONS",
      `private key ${path} has mode ${(mode & 0o777).toString(8)}; it must not be accessible by group or others (chmod 600)`,
    );
  }
  const key = withKeyFileErrors(() => createPrivateKey(readFileSync(path)), path);
  assertEd25519(key, "private");
  return key;
}

/** Load an Ed25519 public key from SPKI PEM text or from the path of a file holding it. */
export function loadPublicKey(pathOrPem: string): KeyObject {
  const isPem = pathOrPem.trimStart().startsWith("-----BEGIN");
  const key = withKeyFileErrors(
    () => createPublicKey(isPem ? pathOrPem : readFileSync(pathOrPem)),
    isPem ? "PEM text" : pathOrPem,
  );
  assertEd25519(key, "public");
  return key;
}

/** Run `parse`, turning file-system and parse failures into `SigningKeyError`s that name `source`. */
function withKeyFileErrors<T>(parse: () => T, source: string): T {
  try {
    return parse();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EACCES") {
      throw new SigningKeyError("KEY_FILE_UNREADABLE", `cannot read key file ${source}: ${code}`);
    }
    throw new SigningKeyError("KEY_INVALID", `cannot parse key from ${source}: ${(error as Error).message}`);
  }
}

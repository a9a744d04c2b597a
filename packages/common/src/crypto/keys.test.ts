import { createHash, generateKeyPairSync } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateSigningKeyFiles, loadPrivateKey, loadPublicKey, publicKeyPathFor } from "./keys";
import {
  keyId,
  keyIdHex,
  publicKeyFromRaw,
  rawPublicKey,
  SigningKeyError,
  samePublicKey,
  sign,
  verify,
} from "./signing";

const dir = mkdtempSync(join(tmpdir(), "bb-keys-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function codeOf(run: () => unknown): string {
  try {
    run();
    return "no error";
  } catch (error) {
    return error instanceof SigningKeyError ? error.code : `other: ${(error as Error).message}`;
  }
}

describe("signing key files", () => {
  it("writes a 0600 PKCS#8 private key and a 0644 SPKI public key, and loads them back", () => {
    const privatePath = join(dir, "list-signing.pem");
    const generated = generateSigningKeyFiles(privatePath);
    expect(generated.publicPath).toBe(publicKeyPathFor(privatePath));
    expect(statSync(privatePath).mode & 0o777).toBe(0o600);
    expect(statSync(generated.publicPath).mode & 0o777).toBe(0o644);
    expect(readFileSync(privatePath, "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(readFileSync(generated.publicPath, "utf8")).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const privateKey = loadPrivateKey(privatePath);
    const publicKey = loadPublicKey(generated.publicPath);
    expect(samePublicKey(privateKey, publicKey)).toBe(true);
    expect(keyIdHex(publicKey)).toBe(generated.keyId);
    expect(samePublicKey(loadPublicKey(readFileSync(generated.publicPath, "utf8")), publicKey)).toBe(true);
  });

  it("refuses to overwrite an existing key file", () => {
    const privatePath = join(dir, "existing.pem");
    writeFileSync(privatePath, "keep me");
    expect(codeOf(() => generateSigningKeyFiles(privatePath))).toBe("KEY_FILE_EXISTS");
    expect(readFileSync(privatePath, "utf8")).toBe("keep me");
    const orphan = join(dir, "orphan.pem");
    writeFileSync(publicKeyPathFor(orphan), "an older public key");
    expect(codeOf(() => generateSigningKeyFiles(orphan))).toBe("KEY_FILE_EXISTS");
    expect(existsSync(orphan)).toBe(false);
    expect(readFileSync(publicKeyPathFor(orphan), "utf8")).toBe("an older public key");
  });

  it("refuses a private key readable by group or others", () => {
    const privatePath = join(dir, "loose.pem");
    generateSigningKeyFiles(privatePath);
    chmodSync(privatePath, 0o640);
    expect(codeOf(() => loadPrivateKey(privatePath))).toBe("KEY_FILE_INSECURE_PERMISSIONS");
    expect(() => loadPrivateKey(privatePath)).toThrow(/chmod 600/);
  });

  it("reports missing files, garbage and non-Ed25519 keys clearly", () => {
    expect(codeOf(() => loadPrivateKey(join(dir, "absent.pem")))).toBe("KEY_FILE_UNREADABLE");
    expect(codeOf(() => loadPublicKey(join(dir, "absent.pub")))).toBe("KEY_FILE_UNREADABLE");
    expect(codeOf(() => loadPublicKey("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"))).toBe(
      "KEY_INVALID",
    );
    const rsaPath = join(dir, "rsa.pem");
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
    writeFileSync(rsaPath, rsa.privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
    expect(codeOf(() => loadPrivateKey(rsaPath))).toBe("KEY_WRONG_TYPE");
  });
});

describe("Ed25519 signing", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const other = generateKeyPairSync("ed25519");
  const message = new TextEncoder().encode("blocklist v7");

  it("signs and verifies; any change to message, signature or key fails", () => {
    const signature = sign(message, privateKey);
    expect(signature.length).toBe(64);
    expect(verify(message, signature, publicKey)).toBe(true);
    expect(verify(Uint8Array.from([...message, 0]), signature, publicKey)).toBe(false);
    const bent = new Uint8Array(signature);
    bent[10]! ^= 1;
    expect(verify(message, bent, publicKey)).toBe(false);
    expect(verify(message, signature.subarray(0, 63), publicKey)).toBe(false);
    expect(verify(message, signature, other.publicKey)).toBe(false);
  });

  it("derives raw keys and key ids (first 8 bytes of SHA-256 of the raw key)", () => {
    const raw = rawPublicKey(publicKey);
    expect(raw.length).toBe(32);
    expect(rawPublicKey(privateKey)).toEqual(raw);
    const expectedId = createHash("sha256").update(raw).digest().subarray(0, 8);
    expect(Buffer.from(keyId(publicKey)).equals(expectedId)).toBe(true);
    expect(samePublicKey(publicKeyFromRaw(raw), publicKey)).toBe(true);
    expect(samePublicKey(other.publicKey, publicKey)).toBe(false);
    expect(codeOf(() => publicKeyFromRaw(raw.subarray(0, 31)))).toBe("KEY_INVALID");
    expect(codeOf(() => sign(message, publicKey))).toBe("KEY_WRONG_TYPE");
  });
});

/**
 * Ed25519 signatures (node:crypto only). Signatures are always 64 bytes; public keys are pinned by
 * their raw 32-byte value or by `keyId` (first 8 bytes of SHA-256 of the raw key).
 */
import {
  createHash,
  createPublicKey,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";

export const SIGNATURE_LENGTH = 64;
export const RAW_PUBLIC_KEY_LENGTH = 32;
export const KEY_ID_LENGTH = 8;

/** Error raised for unusable key material or key files; `code` is stable for callers to branch on. */
export class SigningKeyError extends Error {
  override readonly name = "SigningKeyError";

  constructor(
    readonly code:
      | "KEY_FILE_EXISTS"
      | "KEY_FILE_INSECURE_PERMISSIONS"
      | "KEY_FILE_UNREADABLE"
      | "KEY_INVALID"
      | "KEY_WRONG_TYPE",
    message: string,
  ) {
    super(message);
  }
}

/** Throw unless `key` is an Ed25519 key of the wanted kind. */
export function assertEd25519(key: KeyObject, kind: "public" | "private"): void {
  if (key.asymmetricKeyType !== "ed25519") {
    throw new SigningKeyError(
      "KEY_WRONG_TYPE",
      `expected an Ed25519 key, got ${key.asymmetricKeyType ?? key.type}`,
    );
  }
  if (key.type !== kind) {
    throw new SigningKeyError("KEY_WRONG_TYPE", `expected an Ed25519 ${kind} key, got a ${key.type} key`);
  }
}

/** Raw 32-byte Ed25519 public key of a public key, or of the public half of a private key. */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  assertEd25519(publicKey, "public");
  const jwk = publicKey.export({ format: "jwk" });
  if (typeof jwk.x !== "string")
    throw new SigningKeyError("KEY_INVALID", "Ed25519 public key has no x coordinate");
  const raw = new Uint8Array(Buffer.from(jwk.x, "base64url"));
  if (raw.length !== RAW_PUBLIC_KEY_LENGTH)
    throw new SigningKeyError("KEY_INVALID", "Ed25519 public key is not 32 bytes");
  return raw;
}

/** Build a public KeyObject from a raw 32-byte Ed25519 key (e.g. one pinned in agent config). */
export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== RAW_PUBLIC_KEY_LENGTH) {
    throw new SigningKeyError("KEY_INVALID", `raw Ed25519 public key must be 32 bytes, got ${raw.length}`);
  }
  return createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(raw).toString("base64url") },
    format: "jwk",
  });
}

/** Key id: first 8 bytes of SHA-256(raw 32-byte public key). Accepts a public or private key. */
export function keyId(key: KeyObject): Uint8Array {
  const digest = createHash("sha256").update(rawPublicKey(key)).digest();
  return new Uint8Array(digest.subarray(0, KEY_ID_LENGTH));
}

export function keyIdHex(key: KeyObject): string {
  return Buffer.from(keyId(key)).toString("hex");
}

/** Pinning check: true when both keys have the same raw 32-byte public value. */
export function samePublicKey(a: KeyObject, b: KeyObject): boolean {
  return Buffer.from(rawPublicKey(a)).equals(rawPublicKey(b));
}

/** Ed25519 signature (64 bytes) of `bytes`. */
export function sign(bytes: Uint8Array, privateKey: KeyObject): Uint8Array {
  assertEd25519(privateKey, "private");
  return new Uint8Array(nodeSign(null, bytes, privateKey));
}

/** True when `signature` is a valid Ed25519 signature of `bytes` by `publicKey`; never throws on bad input. */
export function verify(bytes: Uint8Array, signature: Uint8Array, publicKey: KeyObject): boolean {
  assertEd25519(publicKey, "public");
  if (signature.length !== SIGNATURE_LENGTH) return false;
  try {
    return nodeVerify(null, bytes, publicKey, signature);
  } catch {
    return false;
  }
}

/**
 * Opaque secrets handed to clients (refresh tokens, e-mail verification tokens): 32 random bytes, base64url
 * (43 characters). Only their SHA-256 is stored, so a database leak does not leak usable tokens; SHA-256
 * without salt is enough because the input has 256 bits of entropy (no dictionary to precompute).
 */
import { createHash, randomBytes } from "node:crypto";

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface SecretToken {
  /** Give to the client, never store or log. */
  token: string;
  /** Store this. */
  hash: Buffer;
}

export function newSecretToken(): SecretToken {
  const token = randomBytes(32).toString("base64url");
  return { token, hash: hashSecretToken(token) };
}

export function hashSecretToken(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** Shape check before any lookup: anything else cannot be a token we issued. */
export function isWellFormedSecretToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

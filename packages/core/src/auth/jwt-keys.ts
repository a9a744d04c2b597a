/**
 * The Ed25519 key pair that signs access tokens: a PKCS#8 PEM file (0600, refused when group/other can read
 * it) with its SPKI public key beside it, the same layout and checks as the blocklist signing key. It is a
 * different key on purpose: a leaked token key must not be able to sign blocklists, nor the reverse.
 * Replicas behind a load balancer must share the file.
 */
import { createPublicKey } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { generateSigningKeyFiles, loadPrivateKey } from "@betblocker/common/crypto/keys";
import type { JwtKeyPair } from "./access-token";

/** Loads the key pair from `privateKeyPath`, generating it first when the file does not exist. */
export function loadOrCreateJwtKeyPair(privateKeyPath: string): { keys: JwtKeyPair; created: boolean } {
  let created = false;
  if (!existsSync(privateKeyPath)) {
    mkdirSync(dirname(privateKeyPath), { recursive: true, mode: 0o700 });
    generateSigningKeyFiles(privateKeyPath);
    created = true;
  }
  const privateKey = loadPrivateKey(privateKeyPath);
  return { keys: { privateKey, publicKey: createPublicKey(privateKey) }, created };
}

import { createPublicKey, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { generateSigningKeyFiles, keyIdHex, loadPrivateKey, loadPublicKey } from "@betblocker/common";
import { AppError } from "@betblocker/common/errors/app-error";

export interface SigningKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyId: string;
  privatePath: string;
  publicPath: string;
}

export interface SigningKeyPaths {
  signingKeyPath: string;
  publicKeyPath: string;
}

/** Loads the blocklist signing key pair; a missing key is a clear error naming the command that creates it. */
export function loadSigningKeyPair(paths: SigningKeyPaths): SigningKeyPair {
  if (!existsSync(paths.signingKeyPath)) {
    throw new AppError(
      "CONFIG_INVALID",
      `no blocklist signing key at ${paths.signingKeyPath}: run \`betblocker keys generate\``,
    );
  }
  const privateKey = loadPrivateKey(paths.signingKeyPath);
  const publicKey = loadPublicKey(paths.publicKeyPath);
  // A .pub file that belongs to another key would make every published list unverifiable by agents.
  const derived = keyIdHex(createPublicKey(privateKey));
  if (derived !== keyIdHex(publicKey)) {
    throw new AppError(
      "CONFIG_INVALID",
      `${paths.publicKeyPath} is not the public half of ${paths.signingKeyPath}`,
    );
  }
  return {
    privateKey,
    publicKey,
    keyId: derived,
    privatePath: paths.signingKeyPath,
    publicPath: paths.publicKeyPath,
  };
}

/** First start: create the key pair when there is none. Returns whether it was created. */
export function ensureSigningKeyPair(paths: SigningKeyPaths): { pair: SigningKeyPair; created: boolean } {
  let created = false;
  if (!existsSync(paths.signingKeyPath)) {
    mkdirSync(dirname(paths.signingKeyPath), { recursive: true, mode: 0o700 });
    generateSigningKeyFiles(paths.signingKeyPath);
    created = true;
  }
  return { pair: loadSigningKeyPair(paths), created };
}

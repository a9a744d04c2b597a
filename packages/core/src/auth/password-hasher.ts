/**
 * Argon2id password hashing (@node-rs/argon2, native, off the event loop). Parameters follow the OWASP
 * Password Storage Cheat Sheet's first Argon2id option: m = 19 MiB, t = 2, p = 1. Hashes are PHC strings
 * ("$argon2id$v=19$m=19456,t=2,p=1$salt$hash"), so verification reads the parameters from the stored hash
 * and older hashes keep verifying after a parameter change.
 */
import { type Algorithm, hash, verify } from "@node-rs/argon2";

export interface PasswordHashingOptions {
  /** KiB. */
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export const OWASP_ARGON2ID: PasswordHashingOptions = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/**
 * Only for tests: the cheapest legal parameters, so a suite that registers many accounts stays fast. Never
 * used by main.ts; buildApp takes hashing options only to let tests pass this.
 */
export const TEST_ONLY_FAST_ARGON2ID: PasswordHashingOptions = {
  memoryCost: 1024,
  timeCost: 1,
  parallelism: 1,
};

/** The value of Algorithm.Argon2id (an ambient const enum, which isolatedModules cannot read). */
const ARGON2ID = 2 as Algorithm;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** False for a wrong password and for a malformed stored hash (never throws on either). */
  verify(passwordHash: string, password: string): Promise<boolean>;
  /**
   * Burns the time of one verification for an unknown account, so that "no such e-mail" and "wrong password"
   * take about as long (against account enumeration by timing). Always resolves false.
   */
  verifyDummy(password: string): Promise<false>;
}

export function createPasswordHasher(options: PasswordHashingOptions = OWASP_ARGON2ID): PasswordHasher {
  const argon = { algorithm: ARGON2ID, ...options };
  // Computed now, not on the first unknown address: that first miss must not take longer than the others.
  const dummy = hash("dummy password for timing equalization", argon);
  dummy.catch(() => {});
  const doVerify = async (passwordHash: string, password: string): Promise<boolean> => {
    try {
      return await verify(passwordHash, password.normalize("NFC"));
    } catch {
      return false;
    }
  };
  return {
    hash: (password) => hash(password.normalize("NFC"), argon),
    verify: doVerify,
    async verifyDummy(password) {
      await doVerify(await dummy, password);
      return false;
    },
  };
}

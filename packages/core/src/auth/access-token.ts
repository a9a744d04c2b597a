/**
 * Access tokens: short-lived JWTs (RFC 7519) signed with Ed25519 ("alg": "EdDSA", RFC 8037), typed "at+jwt"
 * (RFC 9068 section 2.1) so that no other JWT this system might sign is accepted as an access token.
 *
 * Claims: iss, aud, sub = the account's public id, aid = the internal account id (RLS context), role, iat,
 * exp, jti. Verification pins the algorithm (no "none", no HMAC with the public key as secret), the issuer,
 * the audience and the type, and requires every claim the API relies on. The role claim is informational:
 * each request re-reads the account's role from the database (see auth-database.ts).
 */

import type { KeyObject } from "node:crypto";
import { randomUUID } from "node:crypto";
import { AppError } from "@betblocker/common/errors/app-error";
import type { AccountRole } from "@betblocker/db/repositories/account.repository";
import { type JWTPayload, jwtVerify, SignJWT } from "jose";
import type { Clock } from "./clock";

export const ACCESS_TOKEN_ALGORITHM = "EdDSA";
export const ACCESS_TOKEN_TYPE = "at+jwt";
const ROLES: ReadonlySet<string> = new Set(["user", "partner", "authority", "admin"]);
/** Allowed clock skew between API replicas, in seconds. */
const CLOCK_TOLERANCE_SECONDS = 5;

export interface AccessTokenSubject {
  accountId: number;
  publicId: string;
  role: AccountRole;
}

export interface AccessTokenSettings {
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export interface JwtKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface AccessTokens {
  issue(subject: AccessTokenSubject): Promise<{ token: string; expiresIn: number }>;
  /** The token's subject; throws AppError UNAUTHENTICATED for any invalid token, with one message for all. */
  verify(token: string): Promise<AccessTokenSubject>;
}

const INVALID = "invalid or expired access token";

export function createAccessTokens(
  keys: JwtKeyPair,
  settings: AccessTokenSettings,
  clock: Clock,
): AccessTokens {
  if (keys.privateKey.asymmetricKeyType !== "ed25519" || keys.publicKey.asymmetricKeyType !== "ed25519") {
    throw new Error("access tokens need an Ed25519 key pair");
  }
  return {
    async issue(subject) {
      const now = Math.floor(clock().getTime() / 1000);
      const token = await new SignJWT({ role: subject.role, aid: subject.accountId })
        .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, typ: ACCESS_TOKEN_TYPE })
        .setIssuer(settings.issuer)
        .setAudience(settings.audience)
        .setSubject(subject.publicId)
        .setIssuedAt(now)
        .setExpirationTime(now + settings.ttlSeconds)
        .setJti(randomUUID())
        .sign(keys.privateKey);
      return { token, expiresIn: settings.ttlSeconds };
    },
    async verify(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys.publicKey, {
          algorithms: [ACCESS_TOKEN_ALGORITHM],
          issuer: settings.issuer,
          audience: settings.audience,
          typ: ACCESS_TOKEN_TYPE,
          currentDate: clock(),
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ["iss", "aud", "sub", "exp", "iat"],
        }));
      } catch (error) {
        throw new AppError("UNAUTHENTICATED", INVALID, undefined, { cause: error });
      }
      const { sub, aid, role } = payload as JWTPayload & { aid?: unknown; role?: unknown };
      if (
        typeof sub !== "string" ||
        !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(sub) ||
        typeof aid !== "number" ||
        !Number.isSafeInteger(aid) ||
        aid <= 0 ||
        typeof role !== "string" ||
        !ROLES.has(role)
      ) {
        throw new AppError("UNAUTHENTICATED", INVALID);
      }
      return { accountId: aid, publicId: sub, role: role as AccountRole };
    },
  };
}

/**
 * Access tokens verify only when signed by our Ed25519 key with alg EdDSA, typ at+jwt, our issuer and
 * audience, not expired, and with well-formed claims. Every failure is the same UNAUTHENTICATED error.
 */
import { createHmac, createPrivateKey, generateKeyPairSync } from "node:crypto";
import { isAppError } from "@betblocker/common/errors/app-error";
import { SignJWT } from "jose";
import { describe, expect, test } from "vitest";
import { type AccessTokenSubject, createAccessTokens } from "./access-token";

const keys = generateKeyPairSync("ed25519");
const settings = { issuer: "betblocker", audience: "betblocker-api", ttlSeconds: 900 };
const subject: AccessTokenSubject = {
  accountId: 7,
  publicId: "7b0f3d0e-1c2b-4a5d-9e8f-0a1b2c3d4e5f",
  role: "user",
};

function tokensAt(nowMs: number, pair = keys) {
  return createAccessTokens(pair, settings, () => new Date(nowMs));
}

async function expectRejected(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isAppError(error, "UNAUTHENTICATED")).toBe(true);
  expect((error as Error).message).toBe("invalid or expired access token");
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

function validClaims(nowSeconds: number) {
  return {
    iss: settings.issuer,
    aud: settings.audience,
    sub: subject.publicId,
    aid: subject.accountId,
    role: subject.role,
    iat: nowSeconds,
    exp: nowSeconds + 900,
  };
}

describe("access tokens", () => {
  const now = Date.UTC(2030, 0, 1);

  test("round-trip: sub is the public id, aid the internal id, 15-minute lifetime", async () => {
    const tokens = tokensAt(now);
    const { token, expiresIn } = await tokens.issue(subject);
    expect(expiresIn).toBe(900);
    expect(await tokens.verify(token)).toEqual(subject);
    const [header, payload] = token
      .split(".")
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, "base64url").toString()));
    expect(header).toEqual({ alg: "EdDSA", typ: "at+jwt" });
    expect(payload).toMatchObject({ sub: subject.publicId, aid: 7, role: "user", exp: now / 1000 + 900 });
  });

  test("expired (past the 5 s tolerance) is rejected; within it, accepted", async () => {
    const { token } = await tokensAt(now).issue(subject);
    await expect(tokensAt(now + 904_000).verify(token)).resolves.toEqual(subject);
    await expectRejected(tokensAt(now + 906_000).verify(token));
  });

  test("a forged signature (another key) is rejected", async () => {
    const other = generateKeyPairSync("ed25519");
    const { token } = await tokensAt(now, other).issue(subject);
    await expectRejected(tokensAt(now).verify(token));
  });

  test("a tampered payload is rejected", async () => {
    const { token } = await tokensAt(now).issue(subject);
    const [header, , signature] = token.split(".");
    const forged = `${header}.${b64url({ ...validClaims(now / 1000), role: "admin" })}.${signature}`;
    await expectRejected(tokensAt(now).verify(forged));
  });

  test("alg none and HS256 signed with the public key (algorithm confusion) are rejected", async () => {
    const claims = b64url(validClaims(now / 1000));
    await expectRejected(tokensAt(now).verify(`${b64url({ alg: "none", typ: "at+jwt" })}.${claims}.`));
    const publicPem = keys.publicKey.export({ format: "pem", type: "spki" });
    const head = b64url({ alg: "HS256", typ: "at+jwt" });
    const mac = createHmac("sha256", publicPem).update(`${head}.${claims}`).digest("base64url");
    await expectRejected(tokensAt(now).verify(`${head}.${claims}.${mac}`));
  });

  test("wrong issuer, audience or type are rejected even with a valid signature", async () => {
    const sign = (claims: Record<string, unknown>, typ = "at+jwt") =>
      new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", typ }).sign(keys.privateKey);
    const claims = validClaims(now / 1000);
    await expectRejected(tokensAt(now).verify(await sign({ ...claims, iss: "someone-else" })));
    await expectRejected(tokensAt(now).verify(await sign({ ...claims, aud: "another-api" })));
    await expectRejected(tokensAt(now).verify(await sign(claims, "JWT")));
    await expectRejected(tokensAt(now).verify(await sign({ ...claims, role: "superuser" })));
    await expectRejected(tokensAt(now).verify(await sign({ ...claims, aid: "7" })));
    await expectRejected(tokensAt(now).verify(await sign({ ...claims, sub: "not-a-uuid" })));
    const { exp: _omitted, ...withoutExp } = claims;
    await expectRejected(tokensAt(now).verify(await sign(withoutExp)));
    await expect(tokensAt(now).verify(await sign(claims))).resolves.toEqual(subject);
  });

  test("garbage is rejected", async () => {
    for (const value of ["", "a.b.c", "x".repeat(5000), "eyJ.eyJ.sig"])
      await expectRejected(tokensAt(now).verify(value));
  });

  test("refuses a key pair that is not Ed25519", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    expect(() => createAccessTokens(rsa, settings, () => new Date())).toThrow(/Ed25519/);
    expect(createPrivateKey(keys.privateKey.export({ format: "pem", type: "pkcs8" })).asymmetricKeyType).toBe(
      "ed25519",
    );
  });
});

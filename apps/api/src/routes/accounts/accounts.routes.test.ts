/**
 * GET /api/v1/accounts/me: bearer authentication (missing, malformed, expired, forged, wrong algorithm) and
 * tenant isolation, over real HTTP with the pool connected as the application role.
 */
import { createHmac, generateKeyPairSync } from "node:crypto";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { signUp, startTestServer, type TestServer } from "../../testing/test-server";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ config: { exposeDevTokens: true } });
});

afterAll(async () => {
  await server?.close();
});

const me = (token?: string, headers?: Record<string, string>) =>
  server.request("GET", "/api/v1/accounts/me", {
    ...(token ? { token } : {}),
    ...(headers ? { headers } : {}),
  });

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());
}

describe("GET /api/v1/accounts/me", () => {
  test("returns the signed-in account, verified after e-mail verification", async () => {
    const session = await signUp(server);
    const response = await me(session.accessToken);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      id: session.accountId,
      email: session.email,
      role: "user",
      email_verified: true,
      display_name: null,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  test("401 without a token, with WWW-Authenticate: Bearer", async () => {
    const response = await me();
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ error: { code: "UNAUTHENTICATED", message: "authentication required" } });
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  test("401 for a malformed Authorization header", async () => {
    for (const authorization of [
      "Basic dXNlcjpwdw==",
      "Bearer",
      "Bearer not-a-jwt",
      `Bearer ${"a".repeat(5000)}.b.c`,
    ]) {
      const response = await me(undefined, { authorization });
      expect({ authorization: authorization.slice(0, 20), status: response.status }).toEqual({
        authorization: authorization.slice(0, 20),
        status: 401,
      });
    }
  });

  test("401 for an expired access token (15 minutes)", async () => {
    const session = await signUp(server);
    expect((await me(session.accessToken)).status).toBe(200);
    server.clock.advance(16 * 60_000);
    try {
      const response = await me(session.accessToken);
      expect(response.status).toBe(401);
      expect(response.body.error.message).toBe("invalid or expired access token");
    } finally {
      server.clock.advance(-16 * 60_000);
    }
  });

  test("401 for a token signed with another Ed25519 key (forged)", async () => {
    const session = await signUp(server);
    const attacker = generateKeyPairSync("ed25519");
    const forged = await new SignJWT({ ...payloadOf(session.accessToken), role: "admin" })
      .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt" })
      .sign(attacker.privateKey);
    expect((await me(forged)).status).toBe(401);
  });

  test("401 for alg none and for HS256 keyed with the server's public key", async () => {
    const session = await signUp(server);
    const claims = b64url(payloadOf(session.accessToken));
    expect((await me(`${b64url({ alg: "none", typ: "at+jwt" })}.${claims}.`)).status).toBe(401);
    const header = b64url({ alg: "HS256", typ: "at+jwt" });
    const publicPem = server.keys.publicKey.export({ format: "pem", type: "spki" });
    const mac = createHmac("sha256", publicPem).update(`${header}.${claims}`).digest("base64url");
    expect((await me(`${header}.${claims}.${mac}`)).status).toBe(401);
  });

  test("tenant isolation: each token sees its own account only, even with another account's id in a forged claim", async () => {
    const a = await signUp(server);
    const b = await signUp(server);
    expect((await me(a.accessToken)).body.email).toBe(a.email);
    expect((await me(b.accessToken)).body.email).toBe(b.email);
    // A validly signed token whose aid points at B but whose sub is A's (a confused or tampered issuer) is refused.
    const claimsA = payloadOf(a.accessToken);
    const claimsB = payloadOf(b.accessToken);
    const mixed = await new SignJWT({ ...claimsA, aid: claimsB.aid })
      .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt" })
      .sign(server.keys.privateKey);
    const response = await me(mixed);
    expect(response.status).toBe(401);
    expect(response.text).not.toContain(b.email);
  });

  test("the role comes from the database: a token whose role no longer matches is refused", async () => {
    const session = await signUp(server);
    await server.db.owner`update accounts set role = 'partner' where public_id = ${session.accountId}`;
    expect((await me(session.accessToken)).status).toBe(401);
    const refreshed = await server.request("POST", "/api/v1/auth/refresh", {
      body: { refresh_token: session.refreshToken },
    });
    expect(refreshed.body.account.role).toBe("partner");
    expect((await me(refreshed.body.access_token)).body.role).toBe("partner");
  });

  test("a deleted account's still-unexpired token is refused", async () => {
    const session = await signUp(server);
    await server.db.owner`delete from accounts where public_id = ${session.accountId}`;
    expect((await me(session.accessToken)).status).toBe(401);
    const refresh = await server.request("POST", "/api/v1/auth/refresh", {
      body: { refresh_token: session.refreshToken },
    });
    expect(refresh.status).toBe(401);
  });
});

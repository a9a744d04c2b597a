/**
 * /api/v1/auth over real HTTP on 127.0.0.1, against PostgreSQL through the application role (RLS applies).
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  GOOD_PASSWORD,
  signUp,
  startTestServer,
  type TestServer,
  uniqueEmail,
} from "../../testing/test-server";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    config: {
      exposeDevTokens: true,
      rateLimits: {
        loginFailuresPerEmail: { max: 3, windowSeconds: 900 },
        loginFailuresPerIp: { max: 1000, windowSeconds: 900 },
        registerPerIp: { max: 1000, windowSeconds: 3600 },
        tokenRequestsPerIp: { max: 1000, windowSeconds: 60 },
      },
    },
  });
});

afterAll(async () => {
  await server?.close();
});

const post = (path: string, body: unknown, headers?: Record<string, string>) =>
  server.request("POST", `/api/v1/auth/${path}`, { body, ...(headers ? { headers } : {}) });

function fieldErrors(response: { body: { error: { details?: { fieldErrors?: { path: string }[] } } } }) {
  return (response.body.error.details?.fieldErrors ?? []).map((e) => e.path);
}

describe("POST /api/v1/auth/register", () => {
  test("creates an unverified user account and answers 202 with no-store caching", async () => {
    const email = uniqueEmail();
    const response = await post("register", {
      email: `  ${email.toUpperCase()} `,
      password: GOOD_PASSWORD,
      display_name: " Sam ",
    });
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ status: "verification_pending", message: expect.any(String) });
    expect(response.body.dev_verification_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const [row] = await server.db.owner`
      select email, role::text as role, email_verified, display_name, password_hash from accounts where email = ${email}`;
    expect(row).toMatchObject({ email, role: "user", email_verified: false, display_name: "Sam" });
    expect(row?.password_hash).toMatch(/^\$argon2id\$v=19\$/);
  });

  test("an already registered address (any case) gets the same answer and no second account", async () => {
    const email = uniqueEmail();
    const first = await post("register", { email, password: GOOD_PASSWORD });
    const second = await post("register", { email: email.toUpperCase(), password: "Another password 99" });
    expect(second.status).toBe(first.status);
    expect(Object.keys(second.body).filter((k) => k !== "dev_verification_token")).toEqual(
      Object.keys(first.body).filter((k) => k !== "dev_verification_token"),
    );
    expect(second.body.message).toBe(first.body.message);
    // Only the development-mode token differs (there is none to send for a taken address).
    expect(second.body.dev_verification_token).toBeUndefined();
    const [count] = await server.db
      .owner`select count(*)::int as n from accounts where lower(email) = ${email}`;
    expect(count?.n).toBe(1);
  });

  test("without api.expose_dev_tokens the verification token is not in the response", async () => {
    const quiet = await startTestServer({ db: server.db });
    try {
      const response = await quiet.request("POST", "/api/v1/auth/register", {
        body: { email: uniqueEmail(), password: GOOD_PASSWORD },
      });
      expect(response.status).toBe(202);
      expect(response.body.dev_verification_token).toBeUndefined();
    } finally {
      await quiet.close();
    }
  });

  test("400 VALIDATION_FAILED with field errors for a bad address, a weak password and unknown fields", async () => {
    const response = await post("register", { email: "not-an-address", password: "short", role: "admin" });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("VALIDATION_FAILED");
    expect(response.body.error.details.fieldErrors).toEqual([
      { path: "email", message: "must be a valid e-mail address" },
      { path: "password", message: "must be at least 12 characters long" },
      { path: "role", message: "unknown field" },
    ]);
  });

  test.each([
    ["one repeated character", "zzzzzzzzzzzzzz"],
    ["one character class", "onlylowercaseletters"],
    ["a very common password", "Password1234"],
  ])("rejects %s", async (_label, password) => {
    const response = await post("register", { email: uniqueEmail(), password });
    expect(response.status).toBe(400);
    expect(fieldErrors(response)).toEqual(["password"]);
  });

  test("rejects a password containing the address's local part (checked by the service)", async () => {
    const response = await post("register", {
      email: "gamblefree-sam@example.test",
      password: "GambleFree-Sam-2030",
    });
    expect(response.status).toBe(400);
    expect(response.body.error.details.fieldErrors).toEqual([
      { path: "password", message: "must not contain your e-mail address" },
    ]);
  });

  test("missing fields, wrong types and a non-object body are field errors", async () => {
    expect(fieldErrors(await post("register", {}))).toEqual(["email", "password"]);
    expect(fieldErrors(await post("register", { email: 42, password: ["x"] }))).toEqual([
      "email",
      "password",
    ]);
    expect((await post("register", [1, 2])).status).toBe(400);
    expect((await post("register", "a string")).status).toBe(400);
    expect((await post("register", null)).status).toBe(400);
    expect(
      fieldErrors(
        await post("register", {
          email: uniqueEmail(),
          password: GOOD_PASSWORD,
          display_name: "x".repeat(101),
        }),
      ),
    ).toEqual(["display_name"]);
  });

  test("malformed JSON is 400, an empty JSON body is 400, a non-JSON content type is 415", async () => {
    const malformed = await server.request("POST", "/api/v1/auth/register", {
      rawBody: '{"email": "a@b.org",',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toEqual({
      error: { code: "VALIDATION_FAILED", message: "request body is not valid JSON" },
    });
    const empty = await server.request("POST", "/api/v1/auth/register", { rawBody: "" });
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe("VALIDATION_FAILED");
    const xml = await server.request("POST", "/api/v1/auth/register", {
      rawBody: "<email/>",
      headers: { "content-type": "application/xml" },
    });
    expect(xml.status).toBe(415);
    expect(xml.body.error.code).toBe("VALIDATION_FAILED");
  });

  test("a body over the 256 KiB limit is 413 PAYLOAD_TOO_LARGE", async () => {
    const response = await post("register", { email: uniqueEmail(), password: "x".repeat(300 * 1024) });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe("PAYLOAD_TOO_LARGE");
  });

  test("a prototype-pollution body is refused", async () => {
    const response = await server.request("POST", "/api/v1/auth/register", {
      rawBody: `{"email":"${uniqueEmail()}","password":"${GOOD_PASSWORD}","__proto__":{"role":"admin"}}`,
    });
    expect(response.status).toBe(400);
  });
});

describe("POST /api/v1/auth/verify-email", () => {
  test("verifies the address once; the token cannot be used again", async () => {
    const email = uniqueEmail();
    const registered = await post("register", { email, password: GOOD_PASSWORD });
    const token = registered.body.dev_verification_token;
    const first = await post("verify-email", { token });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ status: "verified" });
    const [row] = await server.db.owner`select email_verified from accounts where email = ${email}`;
    expect(row?.email_verified).toBe(true);
    const again = await post("verify-email", { token });
    expect(again.status).toBe(400);
    expect(fieldErrors(again)).toEqual(["token"]);
  });

  test("an unknown, malformed or expired token is 400", async () => {
    expect((await post("verify-email", { token: "A".repeat(43) })).status).toBe(400);
    expect((await post("verify-email", { token: "not a token" })).status).toBe(400);
    expect((await post("verify-email", { token: "" })).status).toBe(400);
    const registered = await post("register", { email: uniqueEmail(), password: GOOD_PASSWORD });
    server.clock.advance(25 * 3_600_000);
    try {
      expect((await post("verify-email", { token: registered.body.dev_verification_token })).status).toBe(
        400,
      );
    } finally {
      server.clock.advance(-25 * 3_600_000);
    }
  });
});

describe("POST /api/v1/auth/login", () => {
  test("returns an access token, a refresh token and the account (no internal data)", async () => {
    const email = uniqueEmail();
    await post("register", { email, password: GOOD_PASSWORD });
    const response = await post("login", { email: email.toUpperCase(), password: GOOD_PASSWORD });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      token_type: "Bearer",
      expires_in: 900,
      access_token: expect.stringMatching(/^ey[\w-]+\.[\w-]+\.[\w-]+$/),
      refresh_token: expect.stringMatching(/^[\w-]{43}$/),
      account: { email, role: "user", email_verified: false, display_name: null },
    });
    expect(Object.keys(response.body.account).sort()).toEqual(
      ["created_at", "display_name", "email", "email_verified", "id", "role"].sort(),
    );
    expect(response.text).not.toContain("argon2");
    expect(response.headers.get("cache-control")).toBe("no-store");
    const [token] = await server.db.owner`
      select t.token_hash, t.device_info from refresh_tokens t join accounts a on a.id = t.account_id where a.email = ${email}`;
    expect(Buffer.from(token?.token_hash).length).toBe(32);
    expect(Buffer.from(token?.token_hash).toString("base64url")).not.toBe(response.body.refresh_token);
  });

  test("wrong password and unknown address give the same 401", async () => {
    const { email } = await signUp(server);
    const wrong = await post("login", { email, password: "Wrong password 123" });
    const unknown = await post("login", { email: uniqueEmail(), password: "Wrong password 123" });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual({
      error: { code: "UNAUTHENTICATED", message: "invalid e-mail address or password" },
    });
    expect(unknown.body).toEqual(wrong.body);
  });

  test("429 with Retry-After after the address's failure limit, even with the right password; other addresses unaffected", async () => {
    const { email } = await signUp(server);
    for (let i = 0; i < 3; i++)
      expect((await post("login", { email, password: `Wrong password ${i}0` })).status).toBe(401);
    const limited = await post("login", { email, password: GOOD_PASSWORD });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe("RATE_LIMITED");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(900);
    expect(limited.body.error.details).toEqual({
      retryAfterSeconds: Number(limited.headers.get("retry-after")),
    });
    const other = await signUp(server);
    expect((await post("login", { email: other.email, password: GOOD_PASSWORD })).status).toBe(200);
    // An unknown address is limited the same way (the limit reveals nothing).
    const ghost = uniqueEmail();
    for (let i = 0; i < 3; i++) await post("login", { email: ghost, password: "Wrong password 10" });
    expect((await post("login", { email: ghost, password: "Wrong password 10" })).status).toBe(429);
  });

  test("the window ends: after Retry-After the right password works again", async () => {
    const { email } = await signUp(server);
    for (let i = 0; i < 4; i++) await post("login", { email, password: "Wrong password 10" });
    expect((await post("login", { email, password: GOOD_PASSWORD })).status).toBe(429);
    server.clock.advance(901_000);
    expect((await post("login", { email, password: GOOD_PASSWORD })).status).toBe(200);
  });

  test("successful logins do not count toward the limit", async () => {
    const { email } = await signUp(server);
    for (let i = 0; i < 6; i++)
      expect((await post("login", { email, password: GOOD_PASSWORD })).status).toBe(200);
    for (let i = 0; i < 2; i++)
      expect((await post("login", { email, password: "Wrong password 10" })).status).toBe(401);
    expect((await post("login", { email, password: GOOD_PASSWORD })).status).toBe(200);
  });

  test("429 per client IP across addresses", async () => {
    const strict = await startTestServer({
      db: server.db,
      config: {
        rateLimits: {
          loginFailuresPerEmail: { max: 100, windowSeconds: 900 },
          loginFailuresPerIp: { max: 4, windowSeconds: 900 },
          registerPerIp: { max: 1000, windowSeconds: 3600 },
          tokenRequestsPerIp: { max: 1000, windowSeconds: 60 },
        },
      },
    });
    try {
      for (let i = 0; i < 4; i++) {
        const response = await strict.request("POST", "/api/v1/auth/login", {
          body: { email: uniqueEmail(), password: "Wrong password 10" },
        });
        expect(response.status).toBe(401);
      }
      const limited = await strict.request("POST", "/api/v1/auth/login", {
        body: { email: uniqueEmail(), password: "Wrong password 10" },
      });
      expect(limited.status).toBe(429);
      expect(limited.headers.get("retry-after")).toBe("900");
    } finally {
      await strict.close();
    }
  });
});

describe("POST /api/v1/auth/refresh", () => {
  test("rotates: new tokens work, the presented refresh token is used up", async () => {
    const session = await signUp(server);
    const refreshed = await post("refresh", { refresh_token: session.refreshToken });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(session.refreshToken);
    expect(refreshed.body.account.id).toBe(session.accountId);
    const me = await server.request("GET", "/api/v1/accounts/me", { token: refreshed.body.access_token });
    expect(me.status).toBe(200);
    const next = await post("refresh", { refresh_token: refreshed.body.refresh_token });
    expect(next.status).toBe(200);
  });

  test("reuse of a rotated token revokes the whole family (the newest token too), is audited, answers 401", async () => {
    const session = await signUp(server);
    const second = await post("refresh", { refresh_token: session.refreshToken });
    const third = await post("refresh", { refresh_token: second.body.refresh_token });
    expect(third.status).toBe(200);

    const reuse = await post(
      "refresh",
      { refresh_token: session.refreshToken },
      { "x-forwarded-for": "203.0.113.50" },
    );
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.code).toBe("TOKEN_REUSED");

    const newest = await post("refresh", { refresh_token: third.body.refresh_token });
    expect(newest.status).toBe(401);

    const [account] = await server.db.owner`select id from accounts where public_id = ${session.accountId}`;
    const tokens = await server.db.owner`
      select family_id, revoked_at from refresh_tokens where account_id = ${account?.id} order by id`;
    expect(tokens).toHaveLength(3);
    expect(new Set(tokens.map((t) => t.family_id)).size).toBe(1);
    expect(tokens.every((t) => t.revoked_at !== null)).toBe(true);

    const audit = await server.db.owner`
      select actor_account_id, table_name, action::text as action, new_values, host(client_ip) as ip
      from audit_log where table_name = 'refresh_tokens' and new_values->>'event' = 'refresh_token_reuse'
        and actor_account_id = ${account?.id}`;
    expect(audit).toEqual([
      {
        actor_account_id: account?.id,
        table_name: "refresh_tokens",
        action: "UPDATE",
        new_values: { event: "refresh_token_reuse", family_id: tokens[0]?.family_id, revoked_count: 1 },
        // trust_proxy is off: the forwarded header is ignored, the socket address recorded.
        ip: "127.0.0.1",
      },
    ]);
  });

  test("reuse ends only that sign-in: another session of the same account keeps working", async () => {
    const session = await signUp(server);
    const otherDevice = await post("login", { email: session.email, password: GOOD_PASSWORD });
    await post("refresh", { refresh_token: session.refreshToken });
    expect((await post("refresh", { refresh_token: session.refreshToken })).status).toBe(401);
    expect((await post("refresh", { refresh_token: otherDevice.body.refresh_token })).status).toBe(200);
  });

  test("concurrent refreshes with one token: exactly one rotates, the family is then revoked", async () => {
    const session = await signUp(server);
    const results = await Promise.all([
      post("refresh", { refresh_token: session.refreshToken }),
      post("refresh", { refresh_token: session.refreshToken }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    const winner = results.find((r) => r.status === 200);
    expect((await post("refresh", { refresh_token: winner?.body.refresh_token })).status).toBe(401);
  });

  test("an expired, unknown or malformed refresh token is 401 UNAUTHENTICATED", async () => {
    const session = await signUp(server);
    server.clock.advance(31 * 86_400_000);
    try {
      const expired = await post("refresh", { refresh_token: session.refreshToken });
      expect(expired.status).toBe(401);
      expect(expired.body.error.code).toBe("UNAUTHENTICATED");
    } finally {
      server.clock.advance(-31 * 86_400_000);
    }
    expect((await post("refresh", { refresh_token: "B".repeat(43) })).body.error.code).toBe(
      "UNAUTHENTICATED",
    );
    expect((await post("refresh", { refresh_token: "' OR 1=1 --" })).status).toBe(401);
    expect((await post("refresh", { refresh_token: "x".repeat(513) })).status).toBe(400);
    expect((await post("refresh", {})).status).toBe(400);
  });
});

describe("POST /api/v1/auth/logout", () => {
  test("revokes the session's refresh tokens; other sessions stay; idempotent 204", async () => {
    const session = await signUp(server);
    const otherDevice = await post("login", { email: session.email, password: GOOD_PASSWORD });
    const logout = await post("logout", { refresh_token: session.refreshToken });
    expect(logout.status).toBe(204);
    expect(logout.text).toBe("");
    const after = await post("refresh", { refresh_token: session.refreshToken });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe("UNAUTHENTICATED");
    expect((await post("logout", { refresh_token: session.refreshToken })).status).toBe(204);
    expect((await post("logout", { refresh_token: "C".repeat(43) })).status).toBe(204);
    expect((await post("refresh", { refresh_token: otherDevice.body.refresh_token })).status).toBe(200);
  });

  test("logging out with a rotated token ends the current token of that sign-in too", async () => {
    const session = await signUp(server);
    const rotated = await post("refresh", { refresh_token: session.refreshToken });
    expect((await post("logout", { refresh_token: session.refreshToken })).status).toBe(204);
    expect((await post("refresh", { refresh_token: rotated.body.refresh_token })).status).toBe(401);
  });
});

describe("rate limits per IP on unauthenticated token endpoints", () => {
  test("register: 429 with Retry-After past the per-IP limit", async () => {
    const limited = await startTestServer({
      db: server.db,
      config: {
        rateLimits: {
          loginFailuresPerEmail: { max: 10, windowSeconds: 900 },
          loginFailuresPerIp: { max: 50, windowSeconds: 900 },
          registerPerIp: { max: 2, windowSeconds: 3600 },
          tokenRequestsPerIp: { max: 2, windowSeconds: 60 },
        },
      },
    });
    try {
      const register = () =>
        limited.request("POST", "/api/v1/auth/register", {
          body: { email: uniqueEmail(), password: GOOD_PASSWORD },
        });
      expect((await register()).status).toBe(202);
      expect((await register()).status).toBe(202);
      const third = await register();
      expect(third.status).toBe(429);
      expect(third.headers.get("retry-after")).toBe("3600");
      const refresh = () =>
        limited.request("POST", "/api/v1/auth/refresh", { body: { refresh_token: "D".repeat(43) } });
      expect((await refresh()).status).toBe(401);
      expect((await refresh()).status).toBe(401);
      expect((await refresh()).status).toBe(429);
    } finally {
      await limited.close();
    }
  });
});

describe("client IP and trust_proxy", () => {
  test("with trust_proxy the audit trail records the forwarded client address", async () => {
    const proxied = await startTestServer({ db: server.db, config: { trustProxy: true } });
    try {
      const email = uniqueEmail();
      await proxied.request("POST", "/api/v1/auth/register", {
        body: { email, password: GOOD_PASSWORD },
        headers: { "x-forwarded-for": "198.51.100.77" },
      });
      const [row] = await server.db.owner`
        select host(l.client_ip) as ip from audit_log l join accounts a on a.id = l.row_id
        where l.table_name = 'accounts' and a.email = ${email}`;
      expect(row?.ip).toBe("198.51.100.77");
    } finally {
      await proxied.close();
    }
  });
});

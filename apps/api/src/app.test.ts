/**
 * Cross-cutting behaviour of the application: health, the OpenAPI document, the error envelope (including
 * unexpected errors and responses that do not match their schema), robustness against hostile input, log
 * redaction and CORS.
 */
import { Writable } from "node:stream";
import { createSql } from "@betblocker/db/client";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { z } from "zod";
import { buildApp } from "./app";
import { errorResponses } from "./http/responses";
import {
  GOOD_PASSWORD,
  signUp,
  startTestServer,
  type TestServer,
  testApiConfig,
  uniqueEmail,
} from "./testing/test-server";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    config: {
      exposeDevTokens: true,
      rateLimits: {
        loginFailuresPerEmail: { max: 1000, windowSeconds: 900 },
        loginFailuresPerIp: { max: 1000, windowSeconds: 900 },
        registerPerIp: { max: 1000, windowSeconds: 3600 },
        tokenRequestsPerIp: { max: 1000, windowSeconds: 60 },
      },
    },
    // Test-only routes, hidden from the OpenAPI document.
    extend(app) {
      app.get(
        "/test/boom",
        { schema: { hide: true, response: { 200: z.object({ ok: z.boolean() }) } } },
        async () => {
          throw new Error("database password is hunter2 at 10.0.0.5");
        },
      );
      app.get(
        "/test/leak",
        {
          schema: {
            hide: true,
            response: { 200: z.object({ id: z.string(), email: z.string() }), ...errorResponses() },
          },
        },
        async () => ({ id: "x", email: "a@b.org", password_hash: "$argon2id$secret", token_hash: "abc" }),
      );
      app.get(
        "/test/context",
        {
          config: { auth: true },
          schema: {
            hide: true,
            response: {
              200: z.object({ id: z.number(), role: z.string(), ip: z.string(), accounts: z.number() }),
            },
          },
        },
        async (request) =>
          request.withActor(async (tx) => {
            const [row] = await tx<{ id: number; role: string; ip: string; accounts: number }[]>`
              select current_account_id() as id, current_account_role() as role,
                     current_setting('app.current_ip') as ip, (select count(*)::int from accounts) as accounts`;
            if (!row) throw new Error("no row");
            return row;
          }),
      );
      app.get(
        "/test/bad-shape",
        { schema: { hide: true, response: { 200: z.object({ id: z.uuid() }) } } },
        async () => ({ id: "not-a-uuid: internal detail" }),
      );
    },
  });
});

afterAll(async () => {
  await server?.close();
});

describe("GET /api/health", () => {
  test("ok when the database answers", async () => {
    const response = await server.request("GET", "/api/health");
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: "ok", database: "ok", version: "0.1.0" });
  });

  test("503 when the database does not answer", async () => {
    const deadPool = createSql("postgres://betblocker_api:x@127.0.0.1:1/nothing", { max: 1 });
    const app = await buildApp({
      config: testApiConfig(),
      sql: deadPool,
      jwtKeys: server.keys,
    });
    try {
      const response = await app.inject({ method: "GET", url: "/api/health" });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({ status: "unavailable", database: "unavailable", version: "0.1.0" });
    } finally {
      await app.close();
      await deadPool.end({ timeout: 1 });
    }
  });
});

describe("OpenAPI", () => {
  const ROUTES = [
    ["get", "/api/health"],
    ["post", "/api/v1/auth/register"],
    ["post", "/api/v1/auth/verify-email"],
    ["post", "/api/v1/auth/login"],
    ["post", "/api/v1/auth/refresh"],
    ["post", "/api/v1/auth/logout"],
    ["get", "/api/v1/accounts/me"],
  ] as const;

  test("is OpenAPI 3.1 with every route, request and response schemas, and security on protected routes", async () => {
    const response = await server.request("GET", "/api/v1/openapi.json");
    expect(response.status).toBe(200);
    const doc = response.body;
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info).toMatchObject({ title: "BetBlocker API", version: "0.1.0" });
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`),
    );
    for (const [method, path] of ROUTES) expect(documented).toContain(`${method} ${path}`);
    expect(
      documented.filter((d) => d.includes("/test/") || d.includes("openapi.json") || d.includes("/docs")),
    ).toEqual([]);

    for (const [method, path] of ROUTES) {
      const operation = doc.paths[path][method];
      const statuses = Object.keys(operation.responses);
      expect(
        statuses.some((s) => s.startsWith("2")),
        `${method} ${path} has a 2xx response`,
      ).toBe(true);
      expect(statuses, `${method} ${path} documents 500`).toContain("500");
      if (method === "post") {
        const body = operation.requestBody.content["application/json"].schema;
        expect(body.additionalProperties, `${path} body is strict`).toBe(false);
      }
    }
    expect(doc.paths["/api/v1/accounts/me"].get.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths["/api/v1/auth/login"].post.security).toBeUndefined();
    expect(JSON.stringify(doc)).not.toMatch(/password_hash|token_hash/);
  });

  test("Swagger UI is served under /api/v1/docs", async () => {
    const response = await server.request("GET", "/api/v1/docs/");
    expect(response.status).toBe(200);
    expect(response.text).toContain("Swagger UI");
  });
});

describe("error envelope", () => {
  test("unknown routes are 404 NOT_FOUND", async () => {
    const response = await server.request("GET", "/api/v1/nothing-here");
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ error: { code: "NOT_FOUND", message: "no such route" } });
    expect((await server.request("DELETE", "/api/v1/auth/login")).status).toBe(404);
  });

  test("an unexpected error is 500 INTERNAL naming only the request id", async () => {
    const response = await server.request("GET", "/test/boom");
    expect(response.status).toBe(500);
    expect(response.body).toEqual({
      error: { code: "INTERNAL", message: "internal error", details: { requestId: expect.any(String) } },
    });
    expect(response.text).not.toMatch(/hunter2|10\.0\.0\.5|Error|at /);
  });

  test("response schemas strip fields they do not declare (no password or token hashes can leak)", async () => {
    const response = await server.request("GET", "/test/leak");
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ id: "x", email: "a@b.org" });
  });

  test("a response that fails its schema is never sent: 500 INTERNAL without details", async () => {
    const response = await server.request("GET", "/test/bad-shape");
    expect(response.status).toBe(500);
    expect(response.body.error.code).toBe("INTERNAL");
    expect(response.text).not.toContain("internal detail");
  });
});

describe("request transactions", () => {
  test("request.withActor runs as the caller with SET LOCAL account id, database role and client IP; RLS applies", async () => {
    await signUp(server); // a second account exists, invisible to the first
    const session = await signUp(server);
    const [row] = await server.db.owner`select id from accounts where public_id = ${session.accountId}`;
    const response = await server.request("GET", "/test/context", { token: session.accessToken });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ id: row?.id, role: "user", ip: "127.0.0.1", accounts: 1 });
    expect((await server.request("GET", "/test/context")).status).toBe(401);
  });
});

describe("hostile input never causes a 5xx", () => {
  const hostile: unknown[] = [
    { email: "' OR '1'='1'; --@example.org", password: "x' OR 1=1 --" },
    { email: "o'brien@example.org", password: "'; DROP TABLE accounts; --" },
    { email: `${"a".repeat(10_000)}@example.org`, password: GOOD_PASSWORD },
    { email: uniqueEmail(), password: "p".repeat(200_000) },
    {
      email: "\u0000@example.org",
      password: "\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000",
    },
    { email: "🎰@例え.テスト", password: "🎰".repeat(20) },
    { email: { $gt: "" }, password: { $ne: null } },
    { email: ["a@b.org"], password: true },
    { email: null, password: 12345678901234 },
    { refresh_token: { toString: "x" }, token: [] },
    [],
    "string body",
    12,
    null,
  ];

  test.each(["register", "login", "verify-email", "refresh", "logout"])(
    "POST /api/v1/auth/%s",
    async (route) => {
      for (const body of hostile) {
        const response = await server.request("POST", `/api/v1/auth/${route}`, { body });
        expect({ body: JSON.stringify(body).slice(0, 60), status: response.status < 500 }).toEqual({
          body: JSON.stringify(body).slice(0, 60),
          status: true,
        });
        expect(response.body?.error?.code ?? "none").not.toBe("INTERNAL");
      }
      const nested = await server.request("POST", `/api/v1/auth/${route}`, {
        rawBody: `${"[".repeat(5000)}${"]".repeat(5000)}`,
      });
      expect(nested.status).toBeLessThan(500);
    },
  );

  test("an address with a quote registers and signs in like any other (parameters, never string SQL)", async () => {
    const email = `o'brien.${Date.now()}@example.org`;
    expect(
      (await server.request("POST", "/api/v1/auth/register", { body: { email, password: GOOD_PASSWORD } }))
        .status,
    ).toBe(202);
    const login = await server.request("POST", "/api/v1/auth/login", {
      body: { email, password: GOOD_PASSWORD },
    });
    expect(login.status).toBe(200);
    expect(login.body.account.email).toBe(email);
  });
});

describe("logs", () => {
  test("never contain passwords, tokens or the Authorization header", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logged = await startTestServer({
      db: server.db,
      config: { exposeDevTokens: true },
      logger: { level: "trace", stream: sink },
    });
    try {
      const password = "Very secret Passphrase 77";
      const session = await signUp(logged, uniqueEmail(), password);
      await logged.request("GET", "/api/v1/accounts/me", { token: session.accessToken });
      await logged.request("POST", "/api/v1/auth/login", {
        body: { email: session.email, password: "Wrong one 123456" },
      });
      await logged.request("POST", "/api/v1/auth/refresh", { body: { refresh_token: session.refreshToken } });
      const output = lines.join("");
      expect(output).toContain("/api/v1/accounts/me"); // something was logged
      for (const secret of [
        password,
        session.accessToken,
        session.refreshToken,
        "Wrong one 123456",
        "Bearer ",
      ])
        expect(output).not.toContain(secret);
    } finally {
      await logged.close();
    }
  });
});

describe("CORS", () => {
  test("allows the configured web origin only", async () => {
    const corsServer = await startTestServer({
      db: server.db,
      config: { corsOrigins: ["https://app.example.org"] },
    });
    try {
      const preflight = (origin: string) =>
        corsServer.request("OPTIONS", "/api/v1/auth/login", {
          headers: {
            origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
          },
        });
      const allowed = await preflight("https://app.example.org");
      expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example.org");
      expect(allowed.headers.get("access-control-allow-credentials")).toBeNull();
      const denied = await preflight("https://evil.example");
      expect(denied.headers.get("access-control-allow-origin")).toBeNull();
      const noCors = await server.request("GET", "/api/health", {
        headers: { origin: "https://app.example.org" },
      });
      expect(noCors.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await corsServer.close();
    }
  });
});

/**
 * Integration test harness: the real app on a real port of 127.0.0.1, over a per-file PostgreSQL database,
 * with the pool connected as the application role (db.app), as in production. Argon2 runs with the cheapest
 * parameters (TEST_ONLY_FAST_ARGON2ID) to keep the suite fast; the clock is movable.
 */
import { generateKeyPairSync } from "node:crypto";
import type { JwtKeyPair } from "@betblocker/core/auth/access-token";
import { TEST_ONLY_FAST_ARGON2ID } from "@betblocker/core/auth/password-hasher";
import { MemoryRateLimitStore, type RateLimitStore } from "@betblocker/core/auth/rate-limit";
import { type ApiConfig, loadServerConfig } from "@betblocker/core/config/config";
import { createTestDatabase, type TestDatabase } from "@betblocker/db/testing";
import type { FastifyInstance, FastifyServerOptions } from "fastify";
import { type BuildAppOptions, buildApp } from "../app";

export class TestClock {
  constructor(private nowMs: number = Date.now()) {}
  readonly now = (): Date => new Date(this.nowMs);
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

export interface TestServer {
  url: string;
  app: FastifyInstance;
  db: TestDatabase;
  clock: TestClock;
  keys: JwtKeyPair;
  config: ApiConfig;
  /** fetch against the server with a JSON body and optional bearer token. */
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is (for malformed JSON); overrides body. */
  rawBody?: string;
  token?: string;
  headers?: Record<string, string>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected dynamically
  body: any;
  text: string;
}

export function testApiConfig(overrides: Partial<ApiConfig> = {}): ApiConfig {
  const base = loadServerConfig({ env: {} }).api;
  return { ...base, ...overrides, rateLimits: { ...base.rateLimits, ...overrides.rateLimits } };
}

/**
 * Rate limits high enough for a file that signs many accounts up and in from one address (the limits
 * themselves are tested in auth.routes.test.ts).
 */
export const RELAXED_RATE_LIMITS: ApiConfig["rateLimits"] = {
  loginFailuresPerEmail: { max: 100, windowSeconds: 900 },
  loginFailuresPerIp: { max: 1000, windowSeconds: 900 },
  registerPerIp: { max: 1000, windowSeconds: 3600 },
  tokenRequestsPerIp: { max: 1000, windowSeconds: 60 },
};

export interface StartTestServerOptions {
  config?: Partial<ApiConfig>;
  logger?: FastifyServerOptions["logger"];
  /** Reuse a database (e.g. to run two apps over one database). */
  db?: TestDatabase;
  /** Default: in memory, on the test clock. */
  rateLimitStore?: RateLimitStore;
  /** Adds test-only routes before the server starts. */
  extend?: (app: FastifyInstance) => void;
  /** Default: a new clock (pass one to share it with services built outside, e.g. device services). */
  clock?: TestClock;
  /** More buildApp options (device services, the blocklist signing key). */
  appOptions?: Partial<BuildAppOptions>;
}

export async function startTestServer(options: StartTestServerOptions = {}): Promise<TestServer> {
  const db = options.db ?? (await createTestDatabase());
  const clock = options.clock ?? new TestClock();
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const keys = { privateKey, publicKey };
  const config = testApiConfig(options.config);
  const app = await buildApp({
    config,
    sql: db.app,
    jwtKeys: keys,
    clock: clock.now,
    rateLimitStore: options.rateLimitStore ?? new MemoryRateLimitStore(clock.now),
    passwordHashing: TEST_ONLY_FAST_ARGON2ID,
    logger: options.logger ?? false,
    ...options.appOptions,
  });
  options.extend?.(app);
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  if (!address || typeof address === "string") throw new Error("server has no TCP address");
  const url = `http://127.0.0.1:${address.port}`;
  return {
    url,
    app,
    db,
    clock,
    keys,
    config,
    async request(method, path, requestOptions = {}) {
      const headers: Record<string, string> = { ...requestOptions.headers };
      let body: string | undefined;
      if (requestOptions.rawBody !== undefined) body = requestOptions.rawBody;
      else if (requestOptions.body !== undefined) body = JSON.stringify(requestOptions.body);
      if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type"))
        headers["content-type"] = "application/json";
      if (requestOptions.token) headers.authorization = `Bearer ${requestOptions.token}`;
      const response = await fetch(url + path, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await response.text();
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = null;
      }
      return { status: response.status, headers: response.headers, body: parsed, text };
    },
    async close() {
      await app.close();
      if (!options.db) await db.drop();
    },
  };
}

let emailCounter = 0;
/** A unique address per call (test files share one cluster). */
export function uniqueEmail(label = "user"): string {
  emailCounter += 1;
  return `${label}-${process.pid}-${emailCounter}-${Math.random().toString(36).slice(2, 8)}@example.test`;
}

export const GOOD_PASSWORD = "correct Horse battery 42";

/** Registers and verifies an account (expose_dev_tokens must be on) and signs in. */
export async function signUp(
  server: TestServer,
  email = uniqueEmail(),
  password = GOOD_PASSWORD,
): Promise<{
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  accountId: string;
}> {
  const registered = await server.request("POST", "/api/v1/auth/register", { body: { email, password } });
  if (registered.status !== 202) throw new Error(`register failed: ${registered.status} ${registered.text}`);
  const token = registered.body.dev_verification_token as string | undefined;
  if (token) await server.request("POST", "/api/v1/auth/verify-email", { body: { token } });
  const login = await server.request("POST", "/api/v1/auth/login", { body: { email, password } });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.text}`);
  return {
    email,
    password,
    accessToken: login.body.access_token,
    refreshToken: login.body.refresh_token,
    accountId: login.body.account.id,
  };
}

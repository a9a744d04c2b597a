/**
 * RedisRateLimitStore against a real redis-server started by this file on a free loopback port (skipped when
 * the redis-server binary is not installed), and its fail-open behaviour when Redis is unreachable.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { GOOD_PASSWORD, startTestServer, uniqueEmail } from "../testing/test-server";
import { RedisRateLimitStore } from "./redis-store";

function hasRedisServer(): boolean {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

const available = hasRedisServer();
let redis: ChildProcess | null = null;
let url = "";

beforeAll(async () => {
  if (!available) return;
  const port = await freePort();
  url = `redis://127.0.0.1:${port}`;
  redis = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: "ignore",
    },
  );
  const probe = new RedisRateLimitStore({ url });
  for (let i = 0; i < 100; i++) {
    try {
      await probe.connect();
      break;
    } catch {
      probe.client.disconnect();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await probe.close();
});

afterAll(async () => {
  if (!redis?.pid || redis.exitCode !== null) return;
  const exited = new Promise((resolve) => redis?.once("exit", resolve));
  redis.kill("SIGTERM");
  await exited;
});

describe.skipIf(!available)("RedisRateLimitStore", () => {
  test("counts in a window, decrements, resets, and expires the window", async () => {
    const store = new RedisRateLimitStore({ url, prefix: `test:${randomBytes(4).toString("hex")}:` });
    await store.connect();
    try {
      const first = await store.increment("k", 300);
      expect(first.count).toBe(1);
      expect(first.resetAt.getTime() - Date.now()).toBeLessThanOrEqual(300);
      expect((await store.increment("k", 300)).count).toBe(2);
      await store.decrement("k");
      expect((await store.increment("k", 300)).count).toBe(2);
      await store.reset("k");
      expect((await store.increment("k", 300)).count).toBe(1);
      await new Promise((r) => setTimeout(r, 350));
      expect((await store.increment("k", 300)).count).toBe(1);
      await store.decrement("never-set");
      expect((await store.increment("never-set", 1000)).count).toBe(1);
    } finally {
      await store.close();
    }
  });

  test("the API answers 429 from counters kept in Redis", async () => {
    const store = new RedisRateLimitStore({ url, prefix: `test:${randomBytes(4).toString("hex")}:` });
    await store.connect();
    const server = await startTestServer({
      rateLimitStore: store,
      config: {
        rateLimits: {
          loginFailuresPerEmail: { max: 2, windowSeconds: 60 },
          loginFailuresPerIp: { max: 100, windowSeconds: 60 },
          registerPerIp: { max: 100, windowSeconds: 60 },
          tokenRequestsPerIp: { max: 100, windowSeconds: 60 },
        },
      },
    });
    try {
      const email = uniqueEmail();
      const login = () =>
        server.request("POST", "/api/v1/auth/login", { body: { email, password: GOOD_PASSWORD } });
      expect((await login()).status).toBe(401);
      expect((await login()).status).toBe(401);
      const limited = await login();
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    } finally {
      await server.close();
      await store.close();
    }
  });
});

describe("RedisRateLimitStore without Redis", () => {
  test("fails open and reports the error", async () => {
    const errors: unknown[] = [];
    const store = new RedisRateLimitStore({ url: "redis://127.0.0.1:1", onError: (e) => errors.push(e) });
    try {
      const window = await store.increment("k", 1000);
      expect(window.count).toBe(0);
      await store.decrement("k");
      await store.reset("k");
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      store.client.disconnect();
    }
  });
});

/**
 * End to end: the real entry point (main.ts) as a child process against a per-file test database. Checks that
 * it starts, generates its key file 0600, serves requests, refuses an app URL that could bypass RLS, and on
 * SIGTERM finishes the request in flight before exiting 0.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestDatabase, type TestDatabase } from "@betblocker/db/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

let db: TestDatabase;
let dataDir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), "bb-api-main-"));
});

afterAll(async () => {
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function start(env: Record<string, string>): Started {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.startsWith("BETBLOCKER_") && key !== "REDIS_URL" && key !== "PORT",
    ),
  );
  const child = spawn(process.execPath, ["--import", "tsx", MAIN], {
    env: {
      ...clean,
      BETBLOCKER_DATA_DIR: dataDir,
      BETBLOCKER_API_PORT: "0",
      BETBLOCKER_DEVICE_API_PORT: "0",
      BETBLOCKER_LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, exit };
}

async function waitFor(started: Started, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = pattern.exec(started.output());
    if (match) return match;
    if (started.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no ${pattern} in output:\n${started.output()}`);
}

describe("main.ts", () => {
  test("starts, serves, and on SIGTERM lets the in-flight request finish before exiting 0", async () => {
    const started = start({ DATABASE_URL: db.url, BETBLOCKER_APP_DATABASE_URL: db.appUrl });
    try {
      const [, url] = await waitFor(started, /Server listening at (http:\/\/127\.0\.0\.1:\d+)/);
      expect(statSync(join(dataDir, "keys", "jwt-ed25519.key")).mode & 0o777).toBe(0o600);
      // The mutual-TLS device listener starts too and prints its URL; its CA key is private.
      await waitFor(started, /device API \(mutual TLS\) at https:\/\/127\.0\.0\.1:\d+\/api\/v1\/device\//);
      expect(statSync(join(dataDir, "keys", "device-ca.key")).mode & 0o777).toBe(0o600);
      const health = await fetch(`${url}/api/health`);
      expect(await health.json()).toMatchObject({ status: "ok", database: "ok" });

      const body = JSON.stringify({
        email: `main-${process.pid}@example.test`,
        password: "correct Horse battery 42",
      });
      const headers = { "content-type": "application/json" };
      expect((await fetch(`${url}/api/v1/auth/register`, { method: "POST", headers, body })).status).toBe(
        202,
      );

      // A login (real Argon2id cost) in flight when SIGTERM arrives still gets its answer.
      const inFlight = fetch(`${url}/api/v1/auth/login`, { method: "POST", headers, body });
      await waitFor(started, /"url":"\/api\/v1\/auth\/login".*incoming request/);
      started.child.kill("SIGTERM");
      const response = await inFlight;
      expect(response.status).toBe(200);
      const code = await started.exit;
      if (code !== 0) console.log(started.output());
      expect(code).toBe(0);
      expect(started.output()).toMatch(/SIGTERM: shutting down[\s\S]*stopped/);
      expect(started.output()).not.toContain("correct Horse battery 42");
    } finally {
      if (started.child.exitCode === null) started.child.kill("SIGKILL");
    }
  });

  test("refuses to run with a database role that can bypass row-level security", async () => {
    const started = start({ DATABASE_URL: db.url, BETBLOCKER_APP_DATABASE_URL: db.url });
    expect(await started.exit).toBe(1);
    expect(started.output()).toContain("can bypass row-level security");
  });

  test("an invalid configuration is reported and exits 1", async () => {
    const started = start({
      DATABASE_URL: db.url,
      BETBLOCKER_API_PORT: "not-a-port",
      BETBLOCKER_CORS_ORIGINS: "ftp://x",
    });
    expect(await started.exit).toBe(1);
    expect(started.output()).toMatch(/invalid configuration:[\s\S]*api\.port[\s\S]*api\.cors_origins/);
  });
});

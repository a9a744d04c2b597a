/**
 * `npm start` end to end: a fresh data directory, the embedded PostgreSQL, migrations, key, seeds, the shared
 * list and a published signed version; a second start publishes nothing new. Uses `--once` to exit after set-up.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "@betblocker/db/paths";
import { freePort } from "@betblocker/db/testing/global-setup";
import { afterAll, expect, test } from "vitest";

const dataDir = mkdtempSync(join(tmpdir(), "bb-start-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function npmStart(port: number): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BETBLOCKER_DATA_DIR: dataDir,
    BETBLOCKER_PG_PORT: String(port),
  };
  delete env.DATABASE_URL;
  const { stdout } = await promisify(execFile)("npm", ["start", "--silent", "--", "--once"], {
    cwd: repoRoot(),
    env,
    timeout: 120_000,
  });
  return stdout;
}

test("npm start brings up the database, seeds, imports the shared list and publishes version 1 once", async () => {
  const port = await freePort();
  const first = await npmStart(port);
  expect(first).toMatch(/migrations: \d+ applied now, 0 already applied/);
  expect(first).toMatch(/signing key: .* \(created, key id [0-9a-f]{16}\)/);
  expect(first).toMatch(/allowlist: \d+ help resources/);
  expect(first).toMatch(/starter list: \d+ entries/);
  expect(first).toMatch(/public list .*gambling-domains\.csv: 68337 entries .* 0 rejected/);
  expect(first).toMatch(/blocklist: published version 1 \(\d+ entries, \d+ bytes, signed\)/);
  expect(first).toMatch(/api: http:\/\/127\.0\.0\.1:\d+\/api\/v1 /);
  expect(first).toMatch(/device api \(mutual TLS\): https:\/\/127\.0\.0\.1:\d+\/api\/v1\/device\//);
  expect(first).toMatch(/demo admin login: admin@example\.com \/ \S{16,} +\(created/);
  expect(statSync(join(dataDir, "demo-admin.json")).mode & 0o777).toBe(0o600);
  // The demo agent registered over mutual TLS and synced the signed list before answering DNS.
  expect(first).toMatch(/demo agent: enrolled, blocklist version 1, DNS on 127\.0\.0\.1:\d+/);
  expect(first).toMatch(/try: dig @127\.0\.0\.1 -p \d+ www\.bet365\.com/);
  expect(statSync(join(dataDir, "keys", "blocklist-signing.key")).mode & 0o777).toBe(0o600);
  // The embedded cluster was stopped on exit.
  expect(existsSync(join(dataDir, "db", "pg", "postmaster.pid"))).toBe(false);

  const second = await npmStart(port);
  expect(second).toMatch(/migrations: 0 applied now/);
  expect(second).toMatch(/signing key: .* \(existing/);
  expect(second).toMatch(/blocklist: version 1 is current/);
  expect(second).toMatch(/demo admin login: admin@example\.com \/ \S{16,} +\(existing/);
  expect(second).toMatch(/demo agent: enrolled, blocklist version 1/);
}, 240_000);

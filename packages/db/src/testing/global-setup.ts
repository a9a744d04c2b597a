/**
 * Vitest global setup: one PostgreSQL cluster per test run (embedded, or DATABASE_URL when set), one template
 * database migrated once; each test file clones its own database from the template (see ./index.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { createSql } from "../client";
import { ensureDatabase, startEmbeddedPostgres } from "../launcher";
import { migrate } from "../migrate";
import { migrationsDir } from "../paths";
import { APP_ROLE, databaseUrl, type TestClusterInfo } from "./shared";

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  let adminUrl: string;
  let stopCluster = async () => {};
  if (process.env.DATABASE_URL) {
    adminUrl = process.env.DATABASE_URL;
  } else {
    const root = mkdtempSync(join(tmpdir(), "betblocker-test-"));
    const cluster = await startEmbeddedPostgres({ root, port: await freePort(), ephemeral: true });
    adminUrl = cluster.url("postgres");
    stopCluster = async () => {
      await cluster.stop();
      rmSync(root, { recursive: true, force: true });
    };
  }
  const prefix = `bb_test_${process.pid}`;
  const template = `${prefix}_template`;
  const appPassword = `test-${process.pid}-${Date.now()}`;
  try {
    await ensureDatabase(adminUrl, template);
    await migrate(databaseUrl(adminUrl, template), process.env.BETBLOCKER_MIGRATIONS_DIR ?? migrationsDir());
    const admin = createSql(adminUrl, { max: 1 });
    try {
      await admin.unsafe(`alter role ${APP_ROLE} login password '${appPassword}'`);
    } finally {
      await admin.end({ timeout: 5 });
    }
  } catch (error) {
    await stopCluster();
    throw error;
  }
  const info: TestClusterInfo = { adminUrl, template, prefix, appPassword };
  project.provide("betblockerDb", info);
  if (process.env.BETBLOCKER_TEST_VERBOSE) console.log(`test database ready in ${Date.now() - started} ms`);

  return async () => {
    const admin = createSql(adminUrl, { max: 1 });
    try {
      const leftovers = await admin<
        { datname: string }[]
      >`select datname from pg_database where datname like ${`${prefix}%`}`;
      for (const { datname } of leftovers)
        await admin.unsafe(`drop database if exists ${datname} with (force)`);
    } finally {
      await admin.end({ timeout: 5 });
      await stopCluster();
    }
  };
}

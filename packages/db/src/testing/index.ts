/**
 * Per-file test databases: `createTestDatabase()` clones the migrated template into a new database, so test
 * files never see each other's rows and need no cleanup between tests.
 */
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { createSql, type Sql, type TransactionSql } from "../client";
import { type ActorContext, withActor } from "../context";
import { APP_ROLE, databaseUrl } from "./shared";

export interface AppSessionContext {
  accountId: number | null;
  role?: string;
  ip?: string | null;
}

export interface TestDatabase {
  name: string;
  /** Superuser (migration owner) URL of this database. */
  url: string;
  /** URL that logs in as the application role (NOSUPERUSER NOBYPASSRLS). */
  appUrl: string;
  /** Superuser client: fixtures and assertions that must see every row. */
  owner: Sql;
  /** Client connected as the application role, for code under test that takes a pool. */
  app: Sql;
  /** Runs fn in a transaction as the application role with SET LOCAL app.current_account_id / role / ip. */
  asApp<T>(context: AppSessionContext, fn: (sql: TransactionSql) => Promise<T>): Promise<T>;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const info = inject("betblockerDb");
  const name = `${info.prefix}_${randomBytes(5).toString("hex")}`;
  const admin = createSql(info.adminUrl, { max: 1 });
  try {
    await admin.unsafe(`create database ${name} template ${info.template}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = databaseUrl(info.adminUrl, name);
  const appUrl = databaseUrl(info.adminUrl, name, { name: APP_ROLE, password: info.appPassword });
  const owner = createSql(url, { max: 4 });
  const app = createSql(appUrl, { max: 4 });
  return {
    name,
    url,
    appUrl,
    owner,
    app,
    asApp(context, fn) {
      const actor: ActorContext = {
        accountId: context.accountId,
        role: context.role ?? "user",
        ip: context.ip ?? null,
      };
      return withActor(app, actor, fn);
    },
    async drop() {
      await owner.end({ timeout: 5 });
      await app.end({ timeout: 5 });
      const cleanup = createSql(info.adminUrl, { max: 1 });
      try {
        await cleanup.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await cleanup.end({ timeout: 5 });
      }
    },
  };
}

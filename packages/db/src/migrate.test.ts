import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, inject, test } from "vitest";
import { createSql } from "./client";
import { MigrationError, migrate, migrationStatus, readMigrations } from "./migrate";
import { migrationsDir } from "./paths";
import { splitSqlStatements } from "./sql-split";
import { databaseUrl } from "./testing/shared";

const info = inject("betblockerDb");
const created: string[] = [];
let dir: string;
let url: string;

async function freshDatabase(): Promise<string> {
  const name = `${info.prefix}_mig_${randomBytes(4).toString("hex")}`;
  const admin = createSql(info.adminUrl, { max: 1 });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  created.push(name);
  return databaseUrl(info.adminUrl, name);
}

function writeMigration(file: string, sql: string): void {
  writeFileSync(join(dir, file), sql);
}

async function query<T>(fn: (sql: ReturnType<typeof createSql>) => Promise<T>): Promise<T> {
  const sql = createSql(url, { max: 1 });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "bb-migrations-"));
  url = await freshDatabase();
});

afterAll(async () => {
  const admin = createSql(info.adminUrl, { max: 1 });
  for (const name of created) await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
});

describe("migration runner", () => {
  test("applies files in numeric order and a second run is a no-op", async () => {
    writeMigration("0002_add_column.sql", "alter table things add column label text;");
    writeMigration("0001_create_table.sql", "create table things (id int primary key);");
    const first = await migrate(url, dir);
    expect(first.applied).toEqual(["0001_create_table.sql", "0002_add_column.sql"]);
    const second = await migrate(url, dir);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toBe(2);
    const status = await migrationStatus(url, dir);
    expect(status.map((s) => s.state)).toEqual(["applied", "applied"]);
  });

  test("an edited applied file is an error naming the file", async () => {
    writeMigration("0001_create_table.sql", "create table things (id int primary key);");
    await migrate(url, dir);
    writeMigration("0001_create_table.sql", "create table things (id bigint primary key);");
    await expect(migrate(url, dir)).rejects.toThrow(/0001_create_table\.sql was edited after it was applied/);
    expect((await migrationStatus(url, dir))[0]?.state).toBe("changed");
  });

  test("a failing migration leaves the database at the last good migration and names the file", async () => {
    writeMigration("0001_create_table.sql", "create table things (id int primary key);");
    writeMigration("0002_broken.sql", "create table half (id int); select * from no_such_table;");
    writeMigration("0003_never.sql", "create table never (id int);");
    const error = await migrate(url, dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).file).toBe("0002_broken.sql");
    expect((error as Error).message).toMatch(/0002_broken\.sql failed: .*no_such_table/);
    const tables = await query(
      (sql) => sql<{ t: string | null; h: string | null; n: string | null }[]>`
      select to_regclass('things')::text as t, to_regclass('half')::text as h, to_regclass('never')::text as n`,
    );
    expect(tables[0]).toEqual({ t: "things", h: null, n: null });
    const status = await migrationStatus(url, dir);
    expect(status.map((s) => s.state)).toEqual(["applied", "pending", "pending"]);
  });

  test("a no-transaction file can create an index concurrently", async () => {
    writeMigration("0001_create_table.sql", "create table things (id int primary key, label text);");
    writeMigration(
      "0002_index.sql",
      "-- betblocker:no-transaction\ncreate index concurrently if not exists idx_things_label on things (label);\n",
    );
    await migrate(url, dir);
    const [row] = await query(
      (sql) => sql<{ valid: boolean }[]>`
      select i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname = 'idx_things_label'`,
    );
    expect(row?.valid).toBe(true);
  });

  test("two runners at once apply each file exactly once (advisory lock)", async () => {
    writeMigration("0001_create_table.sql", "create table things (id int primary key);");
    writeMigration("0002_slow.sql", "select pg_sleep(0.3); insert into things values (1);");
    const results = await Promise.all([migrate(url, dir), migrate(url, dir)]);
    const applied = results.flatMap((r) => r.applied);
    expect(applied.sort()).toEqual(["0001_create_table.sql", "0002_slow.sql"]);
    const [row] = await query((sql) => sql<{ n: number }[]>`select count(*)::int as n from things`);
    expect(row?.n).toBe(1);
  });

  test("badly named files are refused before anything runs", async () => {
    writeMigration("1_create.sql", "create table things (id int);");
    await expect(migrate(url, dir)).rejects.toThrow(/must look like 0001_name\.sql/);
  });
});

describe("the project's migrations", () => {
  test("apply to an empty database, then a re-run is a no-op and every file reads as applied", async () => {
    const first = await migrate(url, migrationsDir());
    const files = readMigrations(migrationsDir());
    expect(first.applied).toEqual(files.map((f) => f.file));
    const second = await migrate(url, migrationsDir());
    expect(second).toEqual({ applied: [], alreadyApplied: files.length });
    expect((await migrationStatus(url, migrationsDir())).every((m) => m.state === "applied")).toBe(true);
  });
});

describe("statement splitter", () => {
  test("keeps dollar-quoted bodies, quotes and comments intact", () => {
    const script = `create function f() returns int as $$ begin return 1; end; $$ language plpgsql;
-- a comment; with a semicolon
insert into t values ('a;b', "x;y");
do $body$ begin perform 1; end $body$;
/* block; comment */`;
    const statements = splitSqlStatements(script);
    expect(statements).toHaveLength(3);
    expect(statements[0]).toContain("return 1; end;");
    expect(statements[1]).toContain("'a;b'");
    expect(statements[2]).toContain("perform 1;");
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

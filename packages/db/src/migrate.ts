/**
 * Forward-only migrations: numbered SQL files (`NNNN_name.sql`) applied in order and recorded with a SHA-256
 * checksum in `schema_migrations`.
 *
 * - An applied file whose content changed is an error (fix forward with a new file instead).
 * - A session advisory lock serialises runners: two processes migrating at once cannot interleave.
 * - Each file runs in one transaction, so a failure leaves the database at the last good migration; a file
 *   whose first line is `-- betblocker:no-transaction` runs statement by statement outside a transaction
 *   (CREATE INDEX CONCURRENTLY, ALTER TYPE ... ADD VALUE). Such files must be idempotent (IF NOT EXISTS),
 *   because a failure part-way leaves their earlier statements applied.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createSql } from "./client";
import { splitSqlStatements } from "./sql-split";

/** Arbitrary constant key for pg_advisory_lock: "BBMIGRAT" as a 63-bit integer. */
const MIGRATION_LOCK_KEY = 0x42424d49475241n;
const NO_TRANSACTION_MARKER = "-- betblocker:no-transaction";
const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export interface MigrationFile {
  version: number;
  name: string;
  file: string;
  checksum: string;
  sql: string;
  transactional: boolean;
}

export type MigrationState = "applied" | "pending" | "changed";

export interface MigrationStatus {
  version: number;
  name: string;
  state: MigrationState;
  appliedAt: Date | null;
}

export class MigrationError extends Error {
  readonly code = "MIGRATION_FAILED";
  constructor(
    message: string,
    readonly file: string | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "MigrationError";
  }
}

export function readMigrations(dir: string): MigrationFile[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
  const seen = new Map<number, string>();
  return files.map((file) => {
    const match = FILE_PATTERN.exec(file);
    if (!match) throw new MigrationError(`migration file name must look like 0001_name.sql: ${file}`, file);
    const version = Number(match[1]);
    const clash = seen.get(version);
    if (clash) throw new MigrationError(`two migrations share number ${version}: ${clash} and ${file}`, file);
    seen.set(version, file);
    const sql = readFileSync(join(dir, file), "utf8");
    return {
      version,
      name: match[2] ?? file,
      file,
      sql,
      checksum: createHash("sha256").update(sql).digest("hex"),
      transactional: !sql.startsWith(NO_TRANSACTION_MARKER),
    };
  });
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
  applied_at: Date;
}

const CREATE_TABLE = `create table if not exists schema_migrations (
  version integer primary key,
  name text not null,
  checksum text not null,
  applied_at timestamptz not null default now(),
  duration_ms integer not null
)`;

export async function migrationStatus(url: string, dir: string): Promise<MigrationStatus[]> {
  const files = readMigrations(dir);
  const sql = createSql(url, { max: 1, applicationName: "betblocker-migrate" });
  try {
    const [exists] = await sql`select to_regclass('schema_migrations') is not null as present`;
    const applied = exists?.present
      ? await sql<AppliedRow[]>`select version, name, checksum, applied_at from schema_migrations`
      : [];
    const byVersion = new Map(applied.map((row) => [row.version, row]));
    return files.map((f) => {
      const row = byVersion.get(f.version);
      return {
        version: f.version,
        name: f.file,
        state: !row ? "pending" : row.checksum === f.checksum ? "applied" : "changed",
        appliedAt: row?.applied_at ?? null,
      };
    });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
}

export async function migrate(
  url: string,
  dir: string,
  log: (line: string) => void = () => {},
): Promise<MigrateResult> {
  const files = readMigrations(dir);
  // max: 1 keeps every statement on one session: the advisory lock and manual BEGIN/COMMIT need that.
  const sql = createSql(url, { max: 1, applicationName: "betblocker-migrate" });
  try {
    // Lock first: even CREATE TABLE IF NOT EXISTS races when two runners start on an empty database.
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
    try {
      await sql.unsafe(CREATE_TABLE);
      const applied = await sql<
        AppliedRow[]
      >`select version, name, checksum, applied_at from schema_migrations order by version`;
      const byVersion = new Map(applied.map((row) => [row.version, row]));
      for (const row of applied) {
        const file = files.find((f) => f.version === row.version);
        if (!file)
          throw new MigrationError(
            `migration ${row.version} (${row.name}) is applied but its file is missing`,
            null,
          );
        if (file.checksum !== row.checksum) {
          throw new MigrationError(
            `${file.file} was edited after it was applied (checksum differs); add a new migration instead`,
            file.file,
          );
        }
      }
      const result: MigrateResult = { applied: [], alreadyApplied: applied.length };
      for (const file of files) {
        if (byVersion.has(file.version)) continue;
        const started = Date.now();
        try {
          if (file.transactional) {
            await sql.unsafe("begin").simple();
            try {
              await sql.unsafe(file.sql).simple();
              await record(sql, file, Date.now() - started);
              await sql.unsafe("commit").simple();
            } catch (error) {
              await sql
                .unsafe("rollback")
                .simple()
                .catch(() => {});
              throw error;
            }
          } else {
            for (const statement of splitSqlStatements(file.sql)) await sql.unsafe(statement).simple();
            await record(sql, file, Date.now() - started);
          }
        } catch (error) {
          const detail = error instanceof Error ? error.message : String(error);
          throw new MigrationError(`migration ${file.file} failed: ${detail}`, file.file, { cause: error });
        }
        log(`applied ${file.file} (${Date.now() - started} ms)`);
        result.applied.push(file.file);
      }
      return result;
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY.toString()}::bigint)`.catch(() => {});
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function record(
  sql: ReturnType<typeof createSql>,
  file: MigrationFile,
  durationMs: number,
): Promise<void> {
  await sql`insert into schema_migrations (version, name, checksum, duration_ms)
            values (${file.version}, ${file.file}, ${file.checksum}, ${durationMs})`;
}

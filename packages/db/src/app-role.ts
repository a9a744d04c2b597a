/**
 * The API and worker connect as the application role betblocker_api (migration 0010: NOLOGIN, NOSUPERUSER,
 * NOBYPASSRLS), never as the migration owner, so that row-level security applies to every query they make.
 *
 * `ensureAppRoleLogin` turns the role into a login role with a generated password, kept in
 * `<dataDir>/db/app-secret.json` (mode 0600, never logged), and returns the URL to connect with: the owner's
 * server and database with the role's name and password. An operator who manages the role's password (several
 * API replicas against one external server, where each replica's data directory would hold a different
 * password) sets database.app_url / BETBLOCKER_APP_DATABASE_URL instead, and this function is not called.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createSql, type Sql } from "./client";

export const APP_ROLE_NAME = "betblocker_api";

/** Only URL-safe characters: the password appears in a URL and in an ALTER ROLE literal. */
const PASSWORD_PATTERN = /^[A-Za-z0-9_-]{32,128}$/;

export function appSecretPath(dataDir: string): string {
  return join(dataDir, "db", "app-secret.json");
}

function readOrCreatePassword(dataDir: string): string {
  const file = appSecretPath(dataDir);
  if (existsSync(file)) {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as { password?: unknown };
    if (typeof parsed.password !== "string" || !PASSWORD_PATTERN.test(parsed.password)) {
      throw new Error(`${file} is malformed; delete it and a new password is generated on the next start`);
    }
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    return parsed.password;
  }
  mkdirSync(join(dataDir, "db"), { recursive: true, mode: 0o700 });
  const password = randomBytes(32).toString("base64url");
  writeFileSync(file, `${JSON.stringify({ password })}\n`, { mode: 0o600, flag: "wx" });
  return password;
}

/** The owner URL with the application role's credentials. */
export function appRoleUrl(ownerUrl: string, password: string, role = APP_ROLE_NAME): string {
  const url = new URL(ownerUrl);
  url.username = role;
  url.password = password;
  return url.toString();
}

async function canLogIn(url: string): Promise<boolean> {
  const sql = createSql(url, { max: 1, applicationName: "betblocker-login-check" });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/**
 * Makes betblocker_api able to log in with the password stored under `dataDir` and returns its URL.
 * Idempotent: when the stored password already works nothing is changed; otherwise the owner (superuser or
 * CREATEROLE) sets LOGIN and the password. Must run after the migrations created the role.
 */
export async function ensureAppRoleLogin(
  ownerUrl: string,
  dataDir: string,
  options: { /** Tests only: another role than betblocker_api. */ role?: string } = {},
): Promise<string> {
  const role = options.role ?? APP_ROLE_NAME;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(role)) throw new Error(`invalid role name ${JSON.stringify(role)}`);
  const password = readOrCreatePassword(dataDir);
  const url = appRoleUrl(ownerUrl, password, role);
  if (await canLogIn(url)) return url;
  const owner = createSql(ownerUrl, { max: 1, applicationName: "betblocker-app-role" });
  try {
    // PASSWORD_PATTERN keeps the literal free of quotes; ALTER ROLE takes no bind parameters.
    if (!PASSWORD_PATTERN.test(password)) throw new Error("generated password has unexpected characters");
    await owner.unsafe(`alter role ${role} with login password '${password}'`);
  } finally {
    await owner.end({ timeout: 5 });
  }
  return url;
}

/**
 * Refuses a pool that could bypass row-level security: the API must not run as a superuser, as a role with
 * BYPASSRLS, or as the owner of the tables (e.g. app_url misconfigured to the owner's URL).
 */
export async function assertRestrictedRole(sql: Sql): Promise<void> {
  const [row] = await sql<{ name: string; superuser: boolean; bypass: boolean; owns_accounts: boolean }[]>`
    select r.rolname as name, r.rolsuper as superuser, r.rolbypassrls as bypass,
           coalesce((select c.relowner = r.oid from pg_class c
                     where c.oid = to_regclass('public.accounts')), false) as owns_accounts
    from pg_roles r where r.rolname = current_user`;
  if (!row) throw new Error("cannot read the attributes of the database role");
  if (row.superuser || row.bypass || row.owns_accounts) {
    throw new Error(
      `the API database role ${row.name} can bypass row-level security (superuser, BYPASSRLS or table owner); ` +
        `connect as ${APP_ROLE_NAME} (database.app_url / BETBLOCKER_APP_DATABASE_URL)`,
    );
  }
}

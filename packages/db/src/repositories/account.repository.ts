/**
 * accounts: all SQL for the account table. Pre-authentication steps (register, login lookup) go through the
 * SECURITY DEFINER functions of migration 0012, because row-level security hides every account row until the
 * transaction names an account; everything else runs as the account itself under RLS.
 */
import type { Queryable } from "../client";

export type AccountRole = "user" | "partner" | "authority" | "admin";

/** What the API may show about an account. Deliberately without password_hash and the internal id. */
export interface AccountProfile {
  id: number;
  publicId: string;
  email: string;
  role: AccountRole;
  emailVerified: boolean;
  displayName: string | null;
  createdAt: Date;
}

export interface RegisterAccountInput {
  /** Normalized (trimmed, lower-case): the SQL function refuses anything else. */
  email: string;
  /** Argon2id PHC string. */
  passwordHash: string;
  displayName: string | null;
  /** SHA-256 (32 bytes) of the e-mail verification token. */
  verificationTokenHash: Buffer;
  verificationExpiresAt: Date;
}

/**
 * Creates a 'user' account and its verification token (auth_register_account). Null when the address is
 * already registered, case-insensitively; callers must not reveal which of the two happened.
 */
export async function registerAccount(
  sql: Queryable,
  input: RegisterAccountInput,
): Promise<{ accountId: number; publicId: string } | null> {
  const [row] = await sql<{ account_id: number; public_id: string }[]>`
    select account_id, public_id from auth_register_account(
      ${input.email}, ${input.passwordHash}, ${input.displayName},
      ${input.verificationTokenHash}, ${input.verificationExpiresAt})`;
  return row ? { accountId: row.account_id, publicId: row.public_id } : null;
}

/** Account id and password hash for a login attempt (auth_login_lookup); null for an unknown address. */
export async function findLoginCredentials(
  sql: Queryable,
  email: string,
): Promise<{ accountId: number; passwordHash: string } | null> {
  const [row] = await sql<{ account_id: number; password_hash: string }[]>`
    select account_id, password_hash from auth_login_lookup(${email})`;
  return row ? { accountId: row.account_id, passwordHash: row.password_hash } : null;
}

interface ProfileRow {
  id: number;
  public_id: string;
  email: string;
  role: AccountRole;
  email_verified: boolean;
  display_name: string | null;
  created_at: Date;
}

function toProfile(row: ProfileRow): AccountProfile {
  return {
    id: row.id,
    publicId: row.public_id,
    email: row.email,
    role: row.role,
    emailVerified: row.email_verified,
    displayName: row.display_name,
    createdAt: row.created_at,
  };
}

/**
 * The profile of an account, as far as row-level security lets the transaction's actor see it (own row, or
 * admin). Null when it does not exist or is not visible.
 */
export async function findAccountProfile(sql: Queryable, accountId: number): Promise<AccountProfile | null> {
  const [row] = await sql<ProfileRow[]>`
    select id, public_id, email, role::text as role, email_verified, display_name, created_at
    from accounts where id = ${accountId}`;
  return row ? toProfile(row) : null;
}

/**
 * Creates an administrator account unless the e-mail exists (then nothing changes). Only for the operator's
 * owner connection (first start, demo): the application role cannot create admins, by design.
 */
export async function createAdminAccountIfMissing(
  ownerSql: Queryable,
  input: { email: string; passwordHash: string; displayName: string },
): Promise<boolean> {
  const rows = await ownerSql<{ id: number }[]>`
    insert into accounts (email, password_hash, role, email_verified, display_name)
    values (${input.email}, ${input.passwordHash}, 'admin', true, ${input.displayName})
    on conflict do nothing
    returning id`;
  return rows.length > 0;
}

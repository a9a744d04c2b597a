/**
 * email_verification_tokens: tokens are created with the account (auth_register_account, see
 * account.repository.ts) and consumed here, before the caller is authenticated, through the SECURITY DEFINER
 * function of migration 0012.
 */
import type { Queryable } from "../client";

/**
 * Uses the token with this SHA-256 and marks its account's address verified, atomically. Returns the account
 * id, or null when the token is unknown, already used or expired at `now` (the caller cannot tell which).
 */
export async function consumeEmailVerificationToken(
  sql: Queryable,
  tokenHash: Buffer,
  now: Date,
): Promise<{ accountId: number } | null> {
  const [row] = await sql<{ account_id: number }[]>`
    select account_id from auth_consume_email_verification(${tokenHash}, ${now})`;
  return row ? { accountId: row.account_id } : null;
}

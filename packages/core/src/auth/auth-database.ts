/**
 * How auth code reaches the database: every unit of work is one transaction as the application role, with
 * the actor's context set by SET LOCAL (packages/db context.ts), so row-level security and the audit trigger
 * see who is acting and from which IP.
 *
 * - `anonymous`: no account (pre-authentication). RLS hides every tenant row; only the SECURITY DEFINER
 *   lookups of migration 0012 work.
 * - `asAccount`: acting as one account. Its role for RLS is read from the database inside the transaction,
 *   never taken from the client (a token's role claim can be up to 15 minutes old); an account that no longer
 *   exists, or whose public id or role differ from what the caller expected, is UNAUTHENTICATED.
 */
import { AppError } from "@betblocker/common/errors/app-error";
import type { Sql, TransactionSql } from "@betblocker/db/client";
import { applyActorContext, withActor } from "@betblocker/db/context";
import { type AccountProfile, findAccountProfile } from "@betblocker/db/repositories/account.repository";

export interface ExpectedActor {
  publicId?: string;
  role?: string;
}

export interface AuthDatabase {
  anonymous<T>(fn: (tx: TransactionSql) => Promise<T>): Promise<T>;
  asAccount<T>(
    accountId: number,
    fn: (tx: TransactionSql, account: AccountProfile) => Promise<T>,
    expected?: ExpectedActor,
  ): Promise<T>;
}

const SESSION_INVALID = "the session is no longer valid, sign in again";

/** An AuthDatabase over the application-role pool, for requests from `ip` (null: not a network request). */
export function createAuthDatabase(sql: Sql, ip: string | null): AuthDatabase {
  return {
    anonymous: (fn) => withActor(sql, { accountId: null, role: "", ip }, fn),
    asAccount: (accountId, fn, expected = {}) =>
      // Role '' first: the accounts policy shows the account its own row, nothing more, until the real role
      // is known.
      withActor(sql, { accountId, role: "", ip }, async (tx) => {
        const account = await findAccountProfile(tx, accountId);
        if (
          !account ||
          (expected.publicId !== undefined && account.publicId !== expected.publicId) ||
          (expected.role !== undefined && account.role !== expected.role)
        ) {
          throw new AppError("UNAUTHENTICATED", SESSION_INVALID);
        }
        await applyActorContext(tx, { accountId, role: account.role, ip });
        return fn(tx, account);
      }),
  };
}

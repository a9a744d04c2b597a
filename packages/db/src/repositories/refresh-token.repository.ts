/**
 * refresh_tokens: opaque refresh tokens stored as SHA-256, grouped in families (one per login, migration 0012).
 * The lookup by hash is pre-authentication (SECURITY DEFINER function); issuing, rotating and revoking run as
 * the token's account under row-level security, inside a transaction because rotation locks the row.
 */
import type { Queryable, TransactionSql } from "../client";

export interface RefreshTokenState {
  tokenId: number;
  accountId: number;
  familyId: string;
  expiresAt: Date;
  /** Set when rotated, revoked by logout or by reuse detection. */
  revokedAt: Date | null;
  /** Set when the token was rotated: presenting it again is reuse. */
  replacedById: number | null;
}

interface StateRow {
  token_id: number;
  account_id: number;
  family_id: string;
  expires_at: Date;
  revoked_at: Date | null;
  replaced_by_id: number | null;
}

function toState(row: StateRow): RefreshTokenState {
  return {
    tokenId: row.token_id,
    accountId: row.account_id,
    familyId: row.family_id,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    replacedById: row.replaced_by_id,
  };
}

/** Pre-authentication lookup of a presented token (auth_refresh_token_lookup). Null when unknown. */
export async function lookupRefreshToken(
  sql: Queryable,
  tokenHash: Buffer,
): Promise<RefreshTokenState | null> {
  const [row] = await sql<StateRow[]>`
    select token_id, account_id, family_id, expires_at, revoked_at, replaced_by_id
    from auth_refresh_token_lookup(${tokenHash})`;
  return row ? toState(row) : null;
}

/**
 * Locks a token row of the transaction's account (FOR UPDATE) and returns its current state, so that two
 * concurrent refreshes with one token serialize: the second sees the first's rotation and counts as reuse.
 */
export async function lockRefreshToken(
  tx: TransactionSql,
  tokenId: number,
): Promise<RefreshTokenState | null> {
  const [row] = await tx<StateRow[]>`
    select id as token_id, account_id, family_id, expires_at, revoked_at, replaced_by_id
    from refresh_tokens where id = ${tokenId} for update`;
  return row ? toState(row) : null;
}

export interface InsertRefreshTokenInput {
  accountId: number;
  tokenHash: Buffer;
  /** Omit to start a new family (a login); pass the old token's family when rotating. */
  familyId?: string;
  deviceInfo: string | null;
  createdAt: Date;
  expiresAt: Date;
}

export async function insertRefreshToken(
  sql: Queryable,
  input: InsertRefreshTokenInput,
): Promise<{ tokenId: number; familyId: string }> {
  const [row] = await sql<{ id: number; family_id: string }[]>`
    insert into refresh_tokens (account_id, token_hash, family_id, device_info, created_at, expires_at)
    values (${input.accountId}, ${input.tokenHash}, coalesce(${input.familyId ?? null}::uuid, gen_random_uuid()),
            ${input.deviceInfo}, ${input.createdAt}, ${input.expiresAt})
    returning id, family_id`;
  if (!row) throw new Error("refresh token not inserted (row-level security?)");
  return { tokenId: row.id, familyId: row.family_id };
}

/** Marks `tokenId` rotated: revoked now, replaced by `replacedById`. */
export async function markRefreshTokenRotated(
  tx: TransactionSql,
  tokenId: number,
  replacedById: number,
  now: Date,
): Promise<void> {
  await tx`update refresh_tokens set revoked_at = ${now}, replaced_by_id = ${replacedById} where id = ${tokenId}`;
}

/** Revokes every still-usable token of a family; returns how many were revoked. */
export async function revokeRefreshTokenFamily(sql: Queryable, familyId: string, now: Date): Promise<number> {
  const rows = await sql`
    update refresh_tokens set revoked_at = ${now}
    where family_id = ${familyId}::uuid and revoked_at is null
    returning id`;
  return rows.length;
}

/**
 * Records the reuse of a rotated token in audit_log (audit_security_event: refresh_tokens has no audit
 * trigger), with the actor and client IP of the transaction context.
 */
export async function recordRefreshTokenReuse(
  sql: Queryable,
  event: { tokenId: number; familyId: string; revokedCount: number },
): Promise<number> {
  const details = { family_id: event.familyId, revoked_count: event.revokedCount };
  const [row] = await sql<{ id: number }[]>`
    select audit_security_event('refresh_token_reuse', 'refresh_tokens', ${event.tokenId},
                                'UPDATE'::audit_action, ${sql.json(details)}) as id`;
  return row?.id ?? 0;
}

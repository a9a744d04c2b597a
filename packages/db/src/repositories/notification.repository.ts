/**
 * notifications (migration 0019): the outbox the API writes and the worker delivers. Rows are inserted
 * without RETURNING: a notification for another account is not visible to the acting account (row-level
 * security), which is the point.
 */
import type { Queryable, TransactionSql } from "../client";

export interface NotificationInput {
  /** Recipient; null when addressed by e-mail only (payload.email is then required). */
  accountId: number | null;
  /** snake_case kind, e.g. "unenroll_requested". */
  kind: string;
  payload: Record<string, unknown>;
  createdAt: Date;
}

export async function enqueueNotifications(
  tx: TransactionSql,
  notifications: readonly NotificationInput[],
): Promise<void> {
  if (notifications.length === 0) return;
  const rows = JSON.stringify(
    notifications.map((n) => ({ a: n.accountId, k: n.kind, p: n.payload, c: n.createdAt.toISOString() })),
  );
  await tx`
    insert into notifications (account_id, kind, payload, created_at)
    select x.a, x.k, x.p, x.c
    from jsonb_to_recordset(${rows}::text::jsonb) as x(a bigint, k text, p jsonb, c timestamptz)`;
}

export interface NotificationRow {
  id: number;
  accountId: number | null;
  kind: string;
  payload: Record<string, unknown>;
  createdAt: Date;
  sentAt: Date | null;
}

/** Undelivered notifications, oldest first (worker, role 'system'; locked with SKIP LOCKED). */
export async function lockUnsentNotifications(tx: TransactionSql, limit: number): Promise<NotificationRow[]> {
  const rows = await tx<
    {
      id: number;
      account_id: number | null;
      kind: string;
      payload: Record<string, unknown>;
      created_at: Date;
      sent_at: Date | null;
    }[]
  >`
    select id, account_id, kind, payload, created_at, sent_at from notifications
    where sent_at is null order by created_at, id limit ${limit} for update skip locked`;
  return rows.map((row) => ({
    id: row.id,
    accountId: row.account_id,
    kind: row.kind,
    payload: row.payload,
    createdAt: row.created_at,
    sentAt: row.sent_at,
  }));
}

/** Marks notifications delivered and drops one-time secrets (invitation tokens) from their payload. */
export async function markNotificationsSent(
  sql: Queryable,
  ids: readonly number[],
  sentAt: Date,
): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await sql`
    update notifications set sent_at = ${sentAt}, payload = payload - 'token'
    where id = any(${ids as number[]}::bigint[]) and sent_at is null`;
  return result.count;
}

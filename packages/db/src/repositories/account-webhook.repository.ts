/**
 * account_webhooks and account_webhook_secrets (migration 0031): webhook URLs accounts registered for their
 * alerts. Row-level security shows an account its own rows; the worker (admin/system context) sees all.
 *
 * Secrets are read by two functions only (findAccountWebhookSigningTarget, findWebhookTargetById), both for
 * signing; every other function returns rows without them.
 */
import type { Queryable, TransactionSql } from "../client";

export interface AccountWebhookRow {
  id: number;
  publicId: string;
  accountId: number;
  url: string;
  description: string | null;
  createdAt: Date;
}

/** What signing a request to a webhook needs. */
export interface WebhookSigningTarget {
  id: number;
  url: string;
  secret: string;
}

interface RawRow {
  id: number;
  public_id: string;
  account_id: number;
  url: string;
  description: string | null;
  created_at: Date;
}

function toRow(r: RawRow): AccountWebhookRow {
  return {
    id: r.id,
    publicId: r.public_id,
    accountId: r.account_id,
    url: r.url,
    description: r.description,
    createdAt: r.created_at,
  };
}

const COLUMNS = "id, public_id, account_id, url, description, created_at";

/** Inserts the webhook and its secret; null when the account already has a webhook with this URL. */
export async function insertAccountWebhook(
  tx: TransactionSql,
  webhook: { accountId: number; url: string; description: string | null; secret: string },
): Promise<AccountWebhookRow | null> {
  const [row] = await tx<RawRow[]>`
    insert into account_webhooks (account_id, url, description)
    values (${webhook.accountId}, ${webhook.url}, ${webhook.description})
    on conflict (account_id, url) do nothing
    returning ${tx.unsafe(COLUMNS)}`;
  if (!row) return null;
  await tx`insert into account_webhook_secrets (webhook_id, secret) values (${row.id}, ${webhook.secret})`;
  return toRow(row);
}

/** Transaction-scoped lock on one account's set of webhooks (count-then-insert without a race). */
export async function lockAccountWebhooks(tx: TransactionSql, accountId: number): Promise<void> {
  await tx`select pg_advisory_xact_lock(hashtextextended('account_webhooks', ${accountId}::bigint))`;
}

export async function countAccountWebhooks(sql: Queryable, accountId: number): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from account_webhooks where account_id = ${accountId}`;
  return row?.n ?? 0;
}

/** The account's webhooks, oldest first. */
export async function listAccountWebhooks(sql: Queryable, accountId: number): Promise<AccountWebhookRow[]> {
  const rows = await sql<RawRow[]>`
    select ${sql.unsafe(COLUMNS)} from account_webhooks where account_id = ${accountId} order by created_at, id`;
  return rows.map(toRow);
}

/** Deletes one of the account's webhooks (its secret and deliveries cascade); false when there is none. */
export async function deleteAccountWebhook(
  sql: Queryable,
  accountId: number,
  publicId: string,
): Promise<boolean> {
  const rows = await sql`
    delete from account_webhooks where account_id = ${accountId} and public_id = ${publicId} returning id`;
  return rows.length > 0;
}

/** One of the account's webhooks with its secret (to sign a test request); null when there is none. */
export async function findAccountWebhookSigningTarget(
  sql: Queryable,
  accountId: number,
  publicId: string,
): Promise<(WebhookSigningTarget & { publicId: string }) | null> {
  const [row] = await sql<{ id: number; public_id: string; url: string; secret: string }[]>`
    select w.id, w.public_id, w.url, s.secret
    from account_webhooks w join account_webhook_secrets s on s.webhook_id = w.id
    where w.account_id = ${accountId} and w.public_id = ${publicId}`;
  return row ? { id: row.id, publicId: row.public_id, url: row.url, secret: row.secret } : null;
}

/** The signing target of a delivery's webhook (worker, admin/system context); null when it was deleted. */
export async function findWebhookTargetById(
  sql: Queryable,
  id: number,
): Promise<WebhookSigningTarget | null> {
  const [row] = await sql<{ id: number; url: string; secret: string }[]>`
    select w.id, w.url, s.secret
    from account_webhooks w join account_webhook_secrets s on s.webhook_id = w.id
    where w.id = ${id}`;
  return row ?? null;
}

/** The webhooks of these accounts (alert fan-out, admin/system context), without secrets. */
export async function listWebhooksOfAccounts(
  sql: Queryable,
  accountIds: readonly number[],
): Promise<AccountWebhookRow[]> {
  if (accountIds.length === 0) return [];
  const rows = await sql<RawRow[]>`
    select ${sql.unsafe(COLUMNS)} from account_webhooks
    where account_id = any(${[...accountIds]}::bigint[]) order by account_id, created_at, id`;
  return rows.map(toRow);
}

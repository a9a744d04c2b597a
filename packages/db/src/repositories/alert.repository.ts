/**
 * alert_deliveries (migration 0027): the outbox of alert e-mails and webhooks. Row-level security lets only
 * the admin/system context read or write it, so callers pass a transaction opened with that actor.
 */
import type { Queryable, TransactionSql } from "../client";

export type AlertChannel = "email" | "webhook";
export type AlertStatus = "pending" | "sent" | "dead";

export interface AlertDeliveryRow {
  id: number;
  publicId: string;
  incidentKey: string;
  channel: AlertChannel;
  recipient: string;
  accountId: number | null;
  /** The account webhook this delivery goes to (migration 0031); null: e-mail or an operator webhook. */
  accountWebhookId: number | null;
  subject: string;
  payload: Record<string, unknown>;
  status: AlertStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  createdAt: Date;
  sentAt: Date | null;
}

interface RawRow {
  id: number;
  public_id: string;
  incident_key: string;
  channel: AlertChannel;
  recipient: string;
  account_id: number | null;
  account_webhook_id: number | null;
  subject: string;
  payload: Record<string, unknown>;
  status: AlertStatus;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  created_at: Date;
  sent_at: Date | null;
}

function toRow(r: RawRow): AlertDeliveryRow {
  return {
    id: r.id,
    publicId: r.public_id,
    incidentKey: r.incident_key,
    channel: r.channel,
    recipient: r.recipient,
    accountId: r.account_id,
    accountWebhookId: r.account_webhook_id,
    subject: r.subject,
    payload: r.payload,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    createdAt: r.created_at,
    sentAt: r.sent_at,
  };
}

export interface NewAlertDelivery {
  incidentKey: string;
  channel: AlertChannel;
  recipient: string;
  accountId: number | null;
  /** Set for deliveries to an account webhook (channel 'webhook'). */
  accountWebhookId?: number | null;
  subject: string;
  payload: Record<string, unknown>;
}

/**
 * Idempotent: one row per (incident, channel, recipient, account webhook). Returns the row and whether this call created it.
 */
export async function insertAlertDelivery(
  sql: Queryable,
  delivery: NewAlertDelivery,
): Promise<{ row: AlertDeliveryRow; created: boolean }> {
  const webhookId = delivery.accountWebhookId ?? null;
  const [created] = await sql<RawRow[]>`
    insert into alert_deliveries (incident_key, channel, recipient, account_id, account_webhook_id, subject, payload)
    values (${delivery.incidentKey}, ${delivery.channel}, ${delivery.recipient}, ${delivery.accountId},
            ${webhookId}, ${delivery.subject}, ${sql.json(delivery.payload as Parameters<typeof sql.json>[0])})
    on conflict (incident_key, channel, recipient, account_webhook_id) do nothing
    returning *`;
  if (created) return { row: toRow(created), created: true };
  const [existing] = await sql<RawRow[]>`
    select * from alert_deliveries
    where incident_key = ${delivery.incidentKey} and channel = ${delivery.channel} and recipient = ${delivery.recipient}
      and account_webhook_id is not distinct from ${webhookId}::bigint`;
  if (!existing) throw new Error("alert delivery vanished between insert and select");
  return { row: toRow(existing), created: false };
}

/**
 * Claims up to `limit` due pending deliveries: counts the attempt and pushes next_attempt_at `leaseSeconds`
 * ahead in the same statement, so another replica skips them (SKIP LOCKED now, not due later) and a worker
 * that dies while sending leaves a delivery that is retried after the lease.
 */
export async function claimDueAlertDeliveries(
  tx: TransactionSql,
  options: { now: Date; limit: number; leaseSeconds: number },
): Promise<AlertDeliveryRow[]> {
  const rows = await tx<RawRow[]>`
    with due as (
      select id from alert_deliveries
      -- now() too: a row inserted this millisecond has a microsecond timestamp after a JS Date's.
      where status = 'pending' and next_attempt_at <= greatest(${options.now}::timestamptz, now())
      order by next_attempt_at, id
      limit ${options.limit}
      for update skip locked
    )
    update alert_deliveries d
       set attempts = d.attempts + 1,
           next_attempt_at = ${options.now}::timestamptz + make_interval(secs => ${options.leaseSeconds})
      from due where d.id = due.id
    returning d.*`;
  return rows.map(toRow).sort((a, b) => a.id - b.id);
}

/** Marks a claimed delivery sent (the receiver accepted it). Only a pending row changes. */
export async function markAlertSent(sql: Queryable, id: number, now: Date): Promise<boolean> {
  const rows = await sql`
    update alert_deliveries set status = 'sent', sent_at = ${now}, last_error = null
    where id = ${id} and status = 'pending' returning id`;
  return rows.length > 0;
}

/** Records a failed attempt: retried at `retryAt`, or dead when `dead`. */
export async function markAlertFailed(
  sql: Queryable,
  id: number,
  options: { error: string; retryAt: Date; dead: boolean },
): Promise<void> {
  await sql`
    update alert_deliveries
       set last_error = ${options.error.slice(0, 2000)},
           status = case when ${options.dead}::boolean then 'dead' else status end,
           next_attempt_at = ${options.retryAt}
     where id = ${id} and status = 'pending'`;
}

/** Undoes a claim that was not attempted (shutdown): the attempt is not counted and the delivery is due now. */
export async function releaseAlertClaim(sql: Queryable, id: number, now: Date): Promise<void> {
  await sql`
    update alert_deliveries set attempts = greatest(attempts - 1, 0), next_attempt_at = ${now}
    where id = ${id} and status = 'pending'`;
}

export async function listAlertDeliveries(
  sql: Queryable,
  options: { status?: AlertStatus; limit: number },
): Promise<AlertDeliveryRow[]> {
  const rows = options.status
    ? await sql<RawRow[]>`
        select * from alert_deliveries where status = ${options.status} order by created_at desc, id desc limit ${options.limit}`
    : await sql<
        RawRow[]
      >`select * from alert_deliveries order by created_at desc, id desc limit ${options.limit}`;
  return rows.map(toRow);
}

export async function countAlertDeliveriesByStatus(sql: Queryable): Promise<Record<AlertStatus, number>> {
  const rows = await sql<{ status: AlertStatus; n: number }[]>`
    select status, count(*)::int as n from alert_deliveries group by status`;
  const counts: Record<AlertStatus, number> = { pending: 0, sent: 0, dead: 0 };
  for (const row of rows) counts[row.status] = row.n;
  return counts;
}

/** Puts dead deliveries back in the queue (operator action after fixing SMTP or a webhook). */
export async function retryDeadAlertDeliveries(sql: Queryable, now: Date): Promise<number> {
  const rows = await sql`
    update alert_deliveries set status = 'pending', attempts = 0, next_attempt_at = ${now}
    where status = 'dead' returning id`;
  return rows.length;
}

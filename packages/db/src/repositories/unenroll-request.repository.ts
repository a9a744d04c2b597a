/**
 * enrollment_unenroll_requests and enrollment_config_change_requests (migration 0019): the two kinds of
 * request that follow the unenrollment state machine. They share their columns (config change requests add
 * `changes`), so one set of functions serves both, keyed by RequestKind. Transitions lock the row and take a
 * TransactionSql; the database triggers of migration 0020 refuse any transition the actor may not make.
 */
import type { Queryable, TransactionSql } from "../client";

export type RequestKind = "unenroll" | "config_change";
export type RequestStatus = "pending" | "approved" | "denied" | "expired" | "cancelled";

const TABLE: Record<RequestKind, string> = {
  unenroll: "enrollment_unenroll_requests",
  config_change: "enrollment_config_change_requests",
};

/** One field change of a config change request, as stored (values in the JSONB's own form). */
export interface StoredFieldChange {
  field: string;
  old_value: unknown;
  new_value: unknown;
}

export interface EnrollmentRequestRow {
  kind: RequestKind;
  id: number;
  publicId: string;
  enrollmentId: number;
  requestedByAccountId: number;
  requestedAt: Date;
  requiredApproverAccountId: number | null;
  approvedByAccountId: number | null;
  approvedAt: Date | null;
  delayUntil: Date | null;
  status: RequestStatus;
  /** Config change requests only; [] for unenroll requests. */
  changes: StoredFieldChange[];
}

interface Row {
  id: number;
  public_id: string;
  enrollment_id: number;
  requested_by_account_id: number;
  requested_at: Date;
  required_approver_account_id: number | null;
  approved_by_account_id: number | null;
  approved_at: Date | null;
  delay_until: Date | null;
  status: RequestStatus;
  changes: StoredFieldChange[] | null;
}

function toRequest(kind: RequestKind, row: Row): EnrollmentRequestRow {
  return {
    kind,
    id: row.id,
    publicId: row.public_id,
    enrollmentId: row.enrollment_id,
    requestedByAccountId: row.requested_by_account_id,
    requestedAt: row.requested_at,
    requiredApproverAccountId: row.required_approver_account_id,
    approvedByAccountId: row.approved_by_account_id,
    approvedAt: row.approved_at,
    delayUntil: row.delay_until,
    status: row.status,
    changes: row.changes ?? [],
  };
}

function columns(kind: RequestKind): string {
  return `r.id, r.public_id, r.enrollment_id, r.requested_by_account_id, r.requested_at,
    r.required_approver_account_id, r.approved_by_account_id, r.approved_at, r.delay_until,
    r.status::text as status, ${kind === "config_change" ? "r.changes" : "null::jsonb as changes"}`;
}

export interface InsertRequestInput {
  enrollmentId: number;
  requestedByAccountId: number;
  requiredApproverAccountId: number | null;
  requestedAt: Date;
  delayUntil: Date | null;
  /** config_change only. */
  changes?: StoredFieldChange[];
}

/**
 * Files a pending request. Throws the database error when the enrollment has a pending request of the same
 * kind already (23505 uq_unenroll_request_pending / uq_config_change_request_pending) or when the actor may
 * not file it (42501).
 */
export async function insertRequest(
  tx: TransactionSql,
  kind: RequestKind,
  input: InsertRequestInput,
): Promise<EnrollmentRequestRow> {
  const [row] =
    kind === "config_change"
      ? await tx<Row[]>`
          insert into enrollment_config_change_requests as r
            (enrollment_id, requested_by_account_id, required_approver_account_id, requested_at, delay_until, changes)
          values (${input.enrollmentId}, ${input.requestedByAccountId}, ${input.requiredApproverAccountId},
                  ${input.requestedAt}, ${input.delayUntil}, ${JSON.stringify(input.changes ?? [])}::text::jsonb)
          returning ${tx.unsafe(columns(kind))}`
      : await tx<Row[]>`
          insert into enrollment_unenroll_requests as r
            (enrollment_id, requested_by_account_id, required_approver_account_id, requested_at, delay_until)
          values (${input.enrollmentId}, ${input.requestedByAccountId}, ${input.requiredApproverAccountId},
                  ${input.requestedAt}, ${input.delayUntil})
          returning ${tx.unsafe(columns(kind))}`;
  if (!row) throw new Error("request not inserted");
  return toRequest(kind, row);
}

export async function findRequestByPublicId(
  tx: TransactionSql,
  kind: RequestKind,
  publicId: string,
  options: { forUpdate?: boolean } = {},
): Promise<EnrollmentRequestRow | null> {
  const lock = options.forUpdate ? tx.unsafe("for update") : tx.unsafe("");
  const [row] = await tx<Row[]>`
    select ${tx.unsafe(columns(kind))} from ${tx(TABLE[kind])} r where r.public_id = ${publicId}::uuid ${lock}`;
  return row ? toRequest(kind, row) : null;
}

export async function findPendingRequest(
  tx: TransactionSql,
  kind: RequestKind,
  enrollmentId: number,
): Promise<EnrollmentRequestRow | null> {
  const [row] = await tx<Row[]>`
    select ${tx.unsafe(columns(kind))} from ${tx(TABLE[kind])} r
    where r.enrollment_id = ${enrollmentId} and r.status = 'pending'`;
  return row ? toRequest(kind, row) : null;
}

export interface RequestPage {
  /** Keyset position: strictly after (requestedAt, publicId) in the listing order (newest first). */
  after?: { requestedAt: Date; publicId: string } | null;
  limit: number;
  status?: RequestStatus;
}

/**
 * Requests the account filed, must approve, or may decide as an admin of the enrollment's organization,
 * newest first.
 */
export async function listRequestsOf(
  sql: Queryable,
  kind: RequestKind,
  accountId: number,
  page: RequestPage,
): Promise<EnrollmentRequestRow[]> {
  const after = page.after ?? null;
  const status = page.status ?? null;
  const rows = await sql<Row[]>`
    select ${sql.unsafe(columns(kind))} from ${sql(TABLE[kind])} r
    where (r.requested_by_account_id = ${accountId}
           or r.required_approver_account_id = ${accountId}
           or rls_is_org_admin_of_enrollment(r.enrollment_id))
      and (${status}::text is null or r.status = ${status}::unenroll_request_status)
      and (${after === null} or (r.requested_at, r.public_id) < (${after?.requestedAt ?? null}::timestamptz, ${after?.publicId ?? null}::uuid))
    order by r.requested_at desc, r.public_id desc
    limit ${page.limit}`;
  return rows.map((row) => toRequest(kind, row));
}

/** Requests of one enrollment visible to the actor, newest first. */
export async function listRequestsOfEnrollment(
  sql: Queryable,
  kind: RequestKind,
  enrollmentId: number,
): Promise<EnrollmentRequestRow[]> {
  const rows = await sql<Row[]>`
    select ${sql.unsafe(columns(kind))} from ${sql(TABLE[kind])} r
    where r.enrollment_id = ${enrollmentId}
    order by r.requested_at desc, r.id desc`;
  return rows.map((row) => toRequest(kind, row));
}

export interface DecideRequestInput {
  status: Exclude<RequestStatus, "pending">;
  /** Who decided (approver, requester completing or cancelling); null for the system. */
  decidedByAccountId: number | null;
  decidedAt: Date;
}

/**
 * Moves a pending request to its final status. approved_by/approved_at record the decision: the approver
 * (approved, denied), the requester completing a self-tier request after its delay or the system (expired).
 * A cancellation records neither. Returns false when the request was no longer pending.
 */
export async function decideRequest(
  tx: TransactionSql,
  kind: RequestKind,
  requestId: number,
  input: DecideRequestInput,
): Promise<boolean> {
  const recordsDecision = input.status !== "cancelled";
  const result = await tx`
    update ${tx(TABLE[kind])}
       set status = ${input.status}::unenroll_request_status,
           approved_by_account_id = ${recordsDecision ? input.decidedByAccountId : null},
           approved_at = ${recordsDecision ? input.decidedAt : null}
     where id = ${requestId} and status = 'pending'`;
  return result.count === 1;
}

/** Cancels every pending config change request of an enrollment (it was unenrolled); returns how many. */
export async function cancelPendingConfigChangeRequests(
  tx: TransactionSql,
  enrollmentId: number,
): Promise<number> {
  const result = await tx`
    update enrollment_config_change_requests set status = 'cancelled'
    where enrollment_id = ${enrollmentId} and status = 'pending'`;
  return result.count;
}

/**
 * System (worker): locks up to `limit` pending self-tier requests of `kind` whose delay has passed at `now`,
 * together with their enrollments (FOR UPDATE SKIP LOCKED on both: replicas share the work, and a request or
 * enrollment an API transaction holds is skipped rather than waited for, so the worker never takes part in
 * a lock cycle), oldest first.
 */
export async function lockDueSelfTierRequests(
  tx: TransactionSql,
  kind: RequestKind,
  now: Date,
  limit: number,
): Promise<EnrollmentRequestRow[]> {
  const rows = await tx<Row[]>`
    select ${tx.unsafe(columns(kind))}
    from ${tx(TABLE[kind])} r
    join enrollments e on e.id = r.enrollment_id
    where r.status = 'pending' and r.delay_until is not null and r.delay_until <= ${now}
      and e.tier = 'self'
    order by r.delay_until, r.id
    limit ${limit}
    for update of r, e skip locked`;
  return rows.map((row) => toRequest(kind, row));
}

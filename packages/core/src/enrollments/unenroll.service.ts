/**
 * The unenrollment state machine, on the server clock only (the Clock is injected; the client's idea of the
 * time never counts). It also drives config change requests (loosening changes), which follow the same
 * machine:
 *
 *   self tier        request: delay_until = now + delay_hours, enrollment -> 'unenrolling'
 *                    the requester cancels (enrollment -> 'active') or, once delay_until has passed,
 *                    completes it (before: DELAY_NOT_ELAPSED); the worker completes due requests itself
 *                    (completeDueSelfUnenrollments): request 'expired', enrollment 'unenrolled'
 *   partner tier     the partner (required approver) approves -> enrollment 'unenrolled', or denies
 *   authority tier   any admin of the enrollment's organization approves or denies; with
 *                    user_can_request = false the user's request is refused (UNENROLL_NOT_ALLOWED)
 *   every tier       minimum_enrollment_days: refused before created_at + days (UNENROLL_NOT_ALLOWED, with
 *                    the date it becomes possible); one pending request per enrollment (CONFLICT)
 *
 * Every transition of an unenroll request writes an `unenroll` event (approval and expiry also a
 * `completed` one, when the enrollment ends) and is audited by the database trigger with the actor
 * (NULL for the system). Locks: enrollment before request, everywhere (the worker skips locked rows).
 */

import { AppError } from "@betblocker/common/errors/app-error";
import type { Sql, TransactionSql } from "@betblocker/db/client";
import { withActor } from "@betblocker/db/context";
import type { AccountProfile } from "@betblocker/db/repositories/account.repository";
import { insertEnrollmentEvents } from "@betblocker/db/repositories/config-event.repository";
import {
  type EnrollmentRow,
  findEnrollmentById,
  findEnrollmentByPublicId,
  findEnrollmentsByIds,
  updateEnrollmentStatus,
} from "@betblocker/db/repositories/enrollment.repository";
import {
  cancelPendingConfigChangeRequests,
  decideRequest,
  type EnrollmentRequestRow,
  findPendingRequest,
  findRequestByPublicId,
  insertRequest,
  listRequestsOf,
  listRequestsOfEnrollment,
  lockDueSelfTierRequests,
  type RequestKind,
  type RequestStatus,
} from "@betblocker/db/repositories/unenroll-request.repository";
import type { Clock } from "../auth/clock";
import { decodeCursor, encodeCursor, type Page } from "./cursor";
import { can, type PolicyActor } from "./enrollment.policy";
import { applyConfigChanges, applyFieldChanges } from "./enrollment.service";
import {
  approverAccountIds,
  type LoadedEnrollment,
  loadParties,
  loadPolicyActor,
  notFound,
  notify,
  type RequestView,
  storedToFieldChanges,
  toRequestResource,
  toRequestViews,
  translateDatabaseError,
  unenrollEvent,
} from "./enrollment-support";
import { ENROLLMENT_SYSTEM_ACTOR } from "./system-actor";

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export { ENROLLMENT_SYSTEM_ACTOR } from "./system-actor";

export interface ListRequestsInput {
  limit: number;
  cursor?: string;
  status?: RequestStatus;
}

export interface UnenrollService {
  /** The device owner asks to end the enrollment. */
  requestUnenroll(
    tx: TransactionSql,
    account: AccountProfile,
    enrollmentPublicId: string,
  ): Promise<RequestView>;
  /** Partner/authority: approve. Self tier: the requester completes after the delay. */
  approve(
    tx: TransactionSql,
    account: AccountProfile,
    kind: RequestKind,
    publicId: string,
  ): Promise<RequestView>;
  deny(
    tx: TransactionSql,
    account: AccountProfile,
    kind: RequestKind,
    publicId: string,
  ): Promise<RequestView>;
  cancel(
    tx: TransactionSql,
    account: AccountProfile,
    kind: RequestKind,
    publicId: string,
  ): Promise<RequestView>;
  /** Requests the account filed, must approve, or may decide as an organization admin. */
  list(
    tx: TransactionSql,
    account: AccountProfile,
    kind: RequestKind,
    input: ListRequestsInput,
  ): Promise<Page<RequestView>>;
  /** Requests of one enrollment the account can see. */
  listForEnrollment(
    tx: TransactionSql,
    account: AccountProfile,
    kind: RequestKind,
    enrollmentPublicId: string,
  ): Promise<RequestView[]>;
}

const KIND_NAME: Record<RequestKind, string> = {
  unenroll: "unenroll request",
  config_change: "configuration change request",
};

/** Ends an enrollment after an approved or expired unenroll request (shared by the API and the worker). */
async function endEnrollment(
  tx: TransactionSql,
  loaded: LoadedEnrollment,
  request: EnrollmentRequestRow,
  outcome: "approved" | "expired",
  decidedBy: number | null,
  now: Date,
): Promise<void> {
  await decideRequest(tx, "unenroll", request.id, {
    status: outcome,
    decidedByAccountId: decidedBy,
    decidedAt: now,
  });
  if (loaded.row.status !== "unenrolled") await updateEnrollmentStatus(tx, loaded.row.id, "unenrolled");
  await cancelPendingConfigChangeRequests(tx, loaded.row.id);
  await insertEnrollmentEvents(tx, [
    unenrollEvent(loaded.row, outcome, { requestId: request.id, actorAccountId: decidedBy, at: now }),
    unenrollEvent(loaded.row, "completed", { requestId: request.id, actorAccountId: decidedBy, at: now }),
  ]);
  const policy = loaded.configs.unenrollmentPolicy;
  await notify(
    tx,
    [
      request.requestedByAccountId,
      ...(await approverAccountIds(tx, loaded)),
      ...(policy.notify_on_request ? policy.notify_accounts : []),
    ],
    "unenroll_completed",
    { enrollment_id: loaded.row.publicId, request_id: request.publicId, outcome },
    { at: now, except: decidedBy },
  );
}

/** Applies an approved or expired config change request (shared by the API and the worker). */
async function applyChangeRequest(
  tx: TransactionSql,
  loaded: LoadedEnrollment,
  request: EnrollmentRequestRow,
  outcome: "approved" | "expired",
  decidedBy: number | null,
  now: Date,
): Promise<void> {
  let next: ReturnType<typeof applyFieldChanges>;
  try {
    next = applyFieldChanges(loaded.configs, storedToFieldChanges(request.changes));
  } catch (error) {
    if (error instanceof AppError && error.code === "VALIDATION_FAILED") {
      throw new AppError("CONFLICT", "the requested change no longer fits the enrollment's configuration", {
        fieldErrors: (error.details as { fieldErrors?: unknown } | undefined)?.fieldErrors,
      });
    }
    throw error;
  }
  await decideRequest(tx, "config_change", request.id, {
    status: outcome,
    decidedByAccountId: decidedBy,
    decidedAt: now,
  });
  // changed_by is the requester: the change is theirs, the approver (approved_by) let it through.
  await applyConfigChanges(tx, loaded, next, {
    changedByAccountId: request.requestedByAccountId,
    actorAccountId: request.requestedByAccountId,
    now,
  });
  await notify(
    tx,
    [request.requestedByAccountId],
    "config_change_decided",
    { enrollment_id: loaded.row.publicId, request_id: request.publicId, outcome },
    { at: now, except: decidedBy },
  );
}

export function createUnenrollService(deps: { clock: Clock }): UnenrollService {
  const { clock } = deps;

  /**
   * A request the actor may see, with its enrollment, both locked (enrollment first). Not visible: NOT_FOUND
   * (another tenant's request is indistinguishable from one that does not exist).
   */
  async function loadRequest(
    tx: TransactionSql,
    actor: PolicyActor,
    kind: RequestKind,
    publicId: string,
  ): Promise<{ request: EnrollmentRequestRow; loaded: LoadedEnrollment }> {
    const peek = await findRequestByPublicId(tx, kind, publicId);
    if (!peek) throw notFound(KIND_NAME[kind]);
    const row = await findEnrollmentById(tx, peek.enrollmentId, { forUpdate: true });
    const request = await findRequestByPublicId(tx, kind, publicId, { forUpdate: true });
    if (!row || !request) throw notFound(KIND_NAME[kind]);
    const loaded = await loadParties(tx, row);
    if (!can(actor, "viewRequest", toRequestResource(request, loaded.resource)))
      throw notFound(KIND_NAME[kind]);
    return { request, loaded };
  }

  async function view(
    tx: TransactionSql,
    kind: RequestKind,
    request: EnrollmentRequestRow,
  ): Promise<RequestView> {
    const fresh = (await findRequestByPublicId(tx, kind, request.publicId)) ?? request;
    const enrollment = (await findEnrollmentById(tx, fresh.enrollmentId)) as EnrollmentRow;
    const [result] = await toRequestViews(tx, [{ request: fresh, enrollment }]);
    if (!result) throw new AppError("INTERNAL", "request view missing");
    return result;
  }

  function ensurePending(kind: RequestKind, request: EnrollmentRequestRow): void {
    if (request.status !== "pending") {
      throw new AppError("CONFLICT", `the ${KIND_NAME[kind]} is already ${request.status}`, {
        status: request.status,
      });
    }
  }

  return {
    async requestUnenroll(tx, account, enrollmentPublicId) {
      const now = clock();
      const actor = await loadPolicyActor(tx, account);
      const row = await findEnrollmentByPublicId(tx, enrollmentPublicId, { forUpdate: true });
      if (!row) throw notFound("enrollment");
      const loaded = await loadParties(tx, row);
      if (!can(actor, "view", loaded.resource)) throw notFound("enrollment");
      if (row.status === "unenrolled") throw new AppError("CONFLICT", "the enrollment has ended");
      if (!can(actor, "requestUnenroll", loaded.resource)) {
        throw new AppError("FORBIDDEN", "only the device owner can ask to unenroll");
      }
      if (row.status === "unenrolling" || (await findPendingRequest(tx, "unenroll", row.id))) {
        throw new AppError("CONFLICT", "an unenroll request is already pending for this enrollment");
      }
      if (row.status !== "active") throw new AppError("CONFLICT", `the enrollment is ${row.status}`);

      const policy = loaded.configs.unenrollmentPolicy;
      if (row.tier === "authority" && !policy.user_can_request) {
        throw new AppError(
          "UNENROLL_NOT_ALLOWED",
          "the organization's policy does not allow you to request unenrollment; contact the organization",
          { reason: "user_cannot_request" },
        );
      }
      if (policy.minimum_enrollment_days !== null && policy.minimum_enrollment_days > 0) {
        const possibleFrom = new Date(row.createdAt.getTime() + policy.minimum_enrollment_days * DAY_MS);
        if (now.getTime() < possibleFrom.getTime()) {
          throw new AppError(
            "UNENROLL_NOT_ALLOWED",
            `the minimum enrollment of ${policy.minimum_enrollment_days} days has not passed; ` +
              `unenrollment can be requested from ${possibleFrom.toISOString()}`,
            { reason: "minimum_enrollment_days", possible_from: possibleFrom.toISOString() },
          );
        }
      }

      const delayUntil = row.tier === "self" ? new Date(now.getTime() + policy.delay_hours * HOUR_MS) : null;
      let request: EnrollmentRequestRow;
      try {
        request = await insertRequest(tx, "unenroll", {
          enrollmentId: row.id,
          requestedByAccountId: actor.accountId,
          requiredApproverAccountId: row.tier === "self" ? null : row.enrolledByAccountId,
          requestedAt: now,
          delayUntil,
        });
      } catch (error) {
        translateDatabaseError(error, "an unenroll request is already pending for this enrollment");
      }
      if (row.tier === "self") await updateEnrollmentStatus(tx, row.id, "unenrolling");
      await insertEnrollmentEvents(tx, [
        unenrollEvent(row, "requested", {
          requestId: request.id,
          actorAccountId: actor.accountId,
          delayUntil,
          at: now,
        }),
      ]);
      // Approvers must hear of it to decide; notify_accounts when the policy says so.
      await notify(
        tx,
        [
          ...(await approverAccountIds(tx, loaded)),
          ...(policy.notify_on_request ? policy.notify_accounts : []),
        ],
        "unenroll_requested",
        {
          enrollment_id: row.publicId,
          request_id: request.publicId,
          tier: row.tier,
          delay_until: delayUntil?.toISOString() ?? null,
        },
        { at: now, except: actor.accountId },
      );
      return view(tx, "unenroll", request);
    },

    async approve(tx, account, kind, publicId) {
      const now = clock();
      const actor = await loadPolicyActor(tx, account);
      const { request, loaded } = await loadRequest(tx, actor, kind, publicId);
      ensurePending(kind, request);
      const resource = toRequestResource(request, loaded.resource);
      let outcome: "approved" | "expired";
      if (loaded.row.tier === "self") {
        if (!can(actor, "completeUnenroll", resource)) {
          throw new AppError(
            "FORBIDDEN",
            "a self-tier request takes effect after its delay; only its requester completes it",
          );
        }
        if (request.delayUntil !== null && now.getTime() < request.delayUntil.getTime()) {
          throw new AppError(
            "DELAY_NOT_ELAPSED",
            `the cooling-off delay runs until ${request.delayUntil.toISOString()}`,
            { delay_until: request.delayUntil.toISOString() },
          );
        }
        outcome = "expired";
      } else {
        if (!can(actor, "approveUnenroll", resource)) {
          throw new AppError(
            "FORBIDDEN",
            loaded.row.tier === "partner"
              ? "only the accountability partner can approve this request"
              : "only an admin of the organization can approve this request",
          );
        }
        outcome = "approved";
      }
      if (kind === "unenroll") await endEnrollment(tx, loaded, request, outcome, actor.accountId, now);
      else await applyChangeRequest(tx, loaded, request, outcome, actor.accountId, now);
      return view(tx, kind, request);
    },

    async deny(tx, account, kind, publicId) {
      const now = clock();
      const actor = await loadPolicyActor(tx, account);
      const { request, loaded } = await loadRequest(tx, actor, kind, publicId);
      ensurePending(kind, request);
      if (loaded.row.tier === "self") {
        throw new AppError(
          "FORBIDDEN",
          "a self-tier request has no approver to deny it; its requester can cancel it",
        );
      }
      if (!can(actor, "denyUnenroll", toRequestResource(request, loaded.resource))) {
        throw new AppError("FORBIDDEN", "only the request's approver can deny it");
      }
      await decideRequest(tx, kind, request.id, {
        status: "denied",
        decidedByAccountId: actor.accountId,
        decidedAt: now,
      });
      if (kind === "unenroll") {
        await insertEnrollmentEvents(tx, [
          unenrollEvent(loaded.row, "denied", {
            requestId: request.id,
            actorAccountId: actor.accountId,
            at: now,
          }),
        ]);
      }
      await notify(
        tx,
        [request.requestedByAccountId],
        kind === "unenroll" ? "unenroll_decided" : "config_change_decided",
        { enrollment_id: loaded.row.publicId, request_id: request.publicId, outcome: "denied" },
        { at: now, except: actor.accountId },
      );
      return view(tx, kind, request);
    },

    async cancel(tx, account, kind, publicId) {
      const now = clock();
      const actor = await loadPolicyActor(tx, account);
      const { request, loaded } = await loadRequest(tx, actor, kind, publicId);
      ensurePending(kind, request);
      if (!can(actor, "cancelUnenroll", toRequestResource(request, loaded.resource))) {
        throw new AppError("FORBIDDEN", "only the requester can cancel a request");
      }
      await decideRequest(tx, kind, request.id, {
        status: "cancelled",
        decidedByAccountId: null,
        decidedAt: now,
      });
      if (kind === "unenroll") {
        if (loaded.row.status === "unenrolling") await updateEnrollmentStatus(tx, loaded.row.id, "active");
        await insertEnrollmentEvents(tx, [
          unenrollEvent(loaded.row, "cancelled", {
            requestId: request.id,
            actorAccountId: actor.accountId,
            at: now,
          }),
        ]);
      }
      await notify(
        tx,
        await approverAccountIds(tx, loaded),
        kind === "unenroll" ? "unenroll_cancelled" : "config_change_cancelled",
        { enrollment_id: loaded.row.publicId, request_id: request.publicId },
        { at: now, except: actor.accountId },
      );
      return view(tx, kind, request);
    },

    async list(tx, account, kind, input) {
      const after = decodeCursor(input.cursor);
      const rows = await listRequestsOf(tx, kind, account.id, {
        limit: input.limit + 1,
        after: after ? { requestedAt: after.at, publicId: after.publicId } : null,
        ...(input.status ? { status: input.status } : {}),
      });
      const page = rows.slice(0, input.limit);
      const enrollments = await findEnrollmentsByIds(
        tx,
        page.map((request) => request.enrollmentId),
      );
      const pairs = page.flatMap((request) => {
        const enrollment = enrollments.get(request.enrollmentId);
        return enrollment ? [{ request, enrollment }] : [];
      });
      const last = page[page.length - 1];
      return {
        items: await toRequestViews(tx, pairs),
        nextCursor:
          rows.length > input.limit && last
            ? encodeCursor({ at: last.requestedAt, publicId: last.publicId })
            : null,
      };
    },

    async listForEnrollment(tx, account, kind, enrollmentPublicId) {
      const actor = await loadPolicyActor(tx, account);
      const row = await findEnrollmentByPublicId(tx, enrollmentPublicId);
      if (!row) throw notFound("enrollment");
      const loaded = await loadParties(tx, row);
      if (!can(actor, "view", loaded.resource)) throw notFound("enrollment");
      const requests = await listRequestsOfEnrollment(tx, kind, row.id);
      return toRequestViews(
        tx,
        requests.map((request) => ({ request, enrollment: row })),
      );
    },
  };
}

export interface DueJobOptions {
  /** Requests per transaction. Default 100. */
  batchSize?: number;
  /** Transactions per call; the rest waits for the next run. Default 10. */
  maxBatches?: number;
}

async function runDueBatches(
  sql: Sql,
  now: Date,
  kind: RequestKind,
  options: DueJobOptions,
  handle: (tx: TransactionSql, loaded: LoadedEnrollment, request: EnrollmentRequestRow) => Promise<void>,
): Promise<number> {
  const batchSize = options.batchSize ?? 100;
  const maxBatches = options.maxBatches ?? 10;
  let total = 0;
  for (let batch = 0; batch < maxBatches; batch += 1) {
    const done = await withActor(sql, ENROLLMENT_SYSTEM_ACTOR, async (tx) => {
      const due = await lockDueSelfTierRequests(tx, kind, now, batchSize);
      const enrollments = await findEnrollmentsByIds(
        tx,
        due.map((request) => request.enrollmentId),
      );
      for (const request of due) {
        const row = enrollments.get(request.enrollmentId);
        if (!row) continue;
        await handle(tx, await loadParties(tx, row), request);
      }
      return due.length;
    });
    total += done;
    if (done < batchSize) break;
  }
  return total;
}

/**
 * Worker job: completes every pending self-tier unenroll request whose delay has passed at `now` (the
 * worker's clock): request 'expired', enrollment 'unenrolled', events 'expired' and 'completed' with actor
 * NULL (the system). Idempotent and safe on several replicas (SKIP LOCKED); bounded per call.
 */
export async function completeDueSelfUnenrollments(
  sql: Sql,
  now: Date,
  options: DueJobOptions = {},
): Promise<{ completed: number }> {
  const completed = await runDueBatches(sql, now, "unenroll", options, (tx, loaded, request) =>
    endEnrollment(tx, loaded, request, "expired", null, now),
  );
  return { completed };
}

/**
 * Worker job: applies every pending self-tier config change request whose delay has passed at `now`
 * (status 'expired', config_change events with changed_by = the requester). A change that no longer
 * validates against the current configuration is cancelled instead.
 */
export async function applyDueSelfConfigChanges(
  sql: Sql,
  now: Date,
  options: DueJobOptions = {},
): Promise<{ applied: number }> {
  const applied = await runDueBatches(sql, now, "config_change", options, async (tx, loaded, request) => {
    try {
      await applyChangeRequest(tx, loaded, request, "expired", null, now);
    } catch (error) {
      if (!(error instanceof AppError && error.code === "CONFLICT")) throw error;
      await decideRequest(tx, "config_change", request.id, {
        status: "cancelled",
        decidedByAccountId: null,
        decidedAt: now,
      });
    }
  });
  return { applied };
}

/**
 * The admin review queue: domains agents reported (federated_reports, pending) and domains discovery filed
 * for review (blocklist_entries, status 'review'), one item per domain; and the two decisions on a domain.
 *
 * confirm(domain, category?):
 *   - no entry yet: a federated-source, active entry is created (confidence 100: a person confirmed it);
 *   - an entry in review or rejected: it becomes active (its source is kept: provenance is history), the
 *     category is set when one is given;
 *   - pending reports become 'confirmed', resolved_to_entry_id = the entry, reviewed_by = the admin;
 *   - when the entry was already active, nothing about it changes and the reports become 'duplicate'.
 * reject(domain):
 *   - pending reports become 'rejected' (reviewed_by = the admin, no entry);
 *   - an entry in 'review' becomes 'rejected'; an active entry is left alone (un-blocking is a PATCH).
 * A domain with neither pending reports nor a review entry is not in the queue: NOT_FOUND.
 *
 * Each decision is one transaction: the entry row and the pending reports are locked first, so two admins
 * deciding on one domain at once are serialized, and the second finds nothing left to decide.
 */
import { normalizeDomain } from "@betblocker/common/domain/normalize";
import { AppError } from "@betblocker/common/errors/app-error";
import type { TransactionSql } from "@betblocker/db/client";
import {
  type AdminEntry,
  insertEntry,
  lockEntryByDomain,
  updateEntry,
} from "@betblocker/db/repositories/admin-blocklist.repository";
import {
  listReviewQueue as listQueue,
  lockPendingReports,
  type ReviewOutcome,
  type ReviewQueueItem,
  type ReviewQueuePosition,
  resolvePendingReports,
} from "@betblocker/db/repositories/review-queue.repository";
import { z } from "zod";
import { DEFAULT_MIN_DISTINCT_DEVICES } from "../discovery-intake/federated-intake.service";
import { cursorSchema, encodeCursor, microsecondInstantSchema, plainTextSchema } from "../reporting/cursor";
import { type Actor, assertAdmin } from "./admin.policy";

export const MAX_QUEUE_PAGE_SIZE = 200;
export const DEFAULT_QUEUE_PAGE_SIZE = 50;

/** A reported domain as it appears in a URL path: any spelling of a valid domain, normalized. */
export const reviewDomainSchema = z
  .string()
  .max(1024)
  .transform((value, context) => {
    const result = normalizeDomain(value);
    if (result.ok) return result.domain;
    context.addIssue({ code: "custom", message: `not a valid domain name: ${result.reason}` });
    return z.NEVER;
  });

/** Cursor of the queue: [distinct devices, waiting since (microseconds), domain] of the last item. */
export const reviewQueueCursorSchema = cursorSchema(
  z
    .tuple([z.int().min(0).max(2_147_483_647), microsecondInstantSchema, plainTextSchema(500).min(1)])
    .transform(
      ([distinctDevices, waitingSince, domain]): ReviewQueuePosition => ({
        distinctDevices,
        waitingSince,
        domain,
      }),
    ),
);

export function encodeReviewQueueCursor(position: ReviewQueuePosition): string {
  return encodeCursor([position.distinctDevices, position.waitingSince, position.domain]);
}

export interface ReviewQueuePage {
  items: ReviewQueueItem[];
  next: ReviewQueuePosition | null;
}

/**
 * One page of the queue. Federated reports reach reviewers only once `minDistinctDevices` (k) distinct devices
 * reported the domain (k-anonymity). Callers pass the loaded `[discovery] min_distinct_devices`, the same
 * setting the worker's intake reads, so reviewers and the intake never disagree on k; the default is the
 * setting's default.
 */
export async function listReviewQueue(
  tx: TransactionSql,
  actor: Actor,
  input: { after?: ReviewQueuePosition | null; limit?: number; minDistinctDevices?: number },
): Promise<ReviewQueuePage> {
  assertAdmin(actor);
  const minDistinctDevices = input.minDistinctDevices ?? DEFAULT_MIN_DISTINCT_DEVICES;
  // A programming error, not a request error: k comes from the validated config, never from a request.
  if (!Number.isInteger(minDistinctDevices) || minDistinctDevices < 1)
    throw new Error("minDistinctDevices must be a positive integer");
  const limit = input.limit ?? DEFAULT_QUEUE_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_QUEUE_PAGE_SIZE) {
    throw new AppError("VALIDATION_FAILED", `limit must be 1-${MAX_QUEUE_PAGE_SIZE}`, {
      fieldErrors: [{ path: "limit", message: `must be between 1 and ${MAX_QUEUE_PAGE_SIZE}` }],
    });
  }
  const rows = await listQueue(tx, {
    after: input.after ?? null,
    limit: limit + 1,
    minDistinctDevices,
  });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { items: page, next: rows.length > limit && last ? last.position : null };
}

export interface ReviewDecision {
  domain: string;
  outcome: ReviewOutcome;
  /** Pending reports this decision resolved. */
  reportsResolved: number;
  /** The domain's blocklist entry after the decision (null when a rejected domain never had one). */
  entry: AdminEntry | null;
}

const NOT_IN_QUEUE = "this domain is not in the review queue";

export async function confirmReviewDomain(
  tx: TransactionSql,
  actor: Actor,
  domain: string,
  input: { category?: string | null },
): Promise<ReviewDecision> {
  assertAdmin(actor);
  let entry = await lockEntryByDomain(tx, domain);
  const pending = await lockPendingReports(tx, domain);
  if (pending === 0 && entry?.status !== "review") throw new AppError("NOT_FOUND", NOT_IN_QUEUE);

  let outcome: ReviewOutcome = "confirmed";
  if (entry === null) {
    const inserted = await insertEntry(tx, {
      domain,
      category: input.category ?? null,
      source: "federated",
      status: "active",
      confidenceScore: 100,
      addedByAccountId: actor.id,
    });
    if (inserted) {
      entry = inserted;
    } else {
      // Inserted meanwhile by someone else (a concurrent import): decide against that row, as below.
      entry = await lockEntryByDomain(tx, domain);
      if (!entry) throw new AppError("CONFLICT", "the entry changed during the decision, try again");
      if (entry.status === "active") outcome = "duplicate";
      else entry = await activate(tx, entry, input.category);
    }
  } else if (entry.status === "active") {
    outcome = "duplicate";
  } else {
    entry = await activate(tx, entry, input.category);
  }
  const reportsResolved = await resolvePendingReports(tx, domain, {
    outcome,
    reviewedByAccountId: actor.id,
    entryId: entry.id,
  });
  return { domain, outcome, reportsResolved, entry };
}

async function activate(
  tx: TransactionSql,
  entry: AdminEntry,
  category: string | null | undefined,
): Promise<AdminEntry> {
  const updated = await updateEntry(tx, entry.id, {
    status: "active",
    ...(category !== undefined && category !== null ? { category } : {}),
  });
  if (!updated) throw new AppError("CONFLICT", "the entry changed during the decision, try again");
  return updated;
}

export async function rejectReviewDomain(
  tx: TransactionSql,
  actor: Actor,
  domain: string,
): Promise<ReviewDecision> {
  assertAdmin(actor);
  let entry = await lockEntryByDomain(tx, domain);
  const pending = await lockPendingReports(tx, domain);
  if (pending === 0 && entry?.status !== "review") throw new AppError("NOT_FOUND", NOT_IN_QUEUE);
  if (entry?.status === "review") {
    entry = await updateEntry(tx, entry.id, { status: "rejected" });
  }
  const reportsResolved = await resolvePendingReports(tx, domain, {
    outcome: "rejected",
    reviewedByAccountId: actor.id,
    entryId: null,
  });
  return { domain, outcome: "rejected", reportsResolved, entry };
}

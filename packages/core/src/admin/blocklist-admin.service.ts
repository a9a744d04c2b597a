/**
 * Blocklist curation by admins: search, add, recategorize, send back to review, reject.
 *
 * Every function runs in the caller's transaction, whose SET LOCAL context names the admin: the audit trigger
 * on blocklist_entries records them as actor of every change. Inputs come through the zod schemas exported
 * here (the API uses them in its request schemas, so a bad value is a field error before any SQL runs).
 */
import { normalizeCategory } from "@betblocker/common/domain/category";
import type { BlocklistEntryStatus, BlocklistSource } from "@betblocker/common/enums";
import { AppError } from "@betblocker/common/errors/app-error";
import { classifyRuleValue, type ListRuleType } from "@betblocker/common/lists/list-rule";
import type { TransactionSql } from "@betblocker/db/client";
import {
  type AdminEntry,
  type EntrySearchPosition,
  findEntryByDomain,
  insertEntry,
  searchEntries,
  updateEntry,
} from "@betblocker/db/repositories/admin-blocklist.repository";
import type { BlocklistEntryStatus as StoredEntryStatus } from "@betblocker/db/repositories/blocklist.repository";
import { z } from "zod";
import { cursorSchema, encodeCursor, plainTextSchema } from "../reporting/cursor";
import { type Actor, assertAdmin } from "./admin.policy";

export const MAX_ENTRIES_PAGE_SIZE = 200;
export const DEFAULT_ENTRIES_PAGE_SIZE = 50;
/** Search terms are at most a domain long. */
export const MAX_SEARCH_TERM_LENGTH = 253;

/**
 * A blocklist rule as an admin types it: a domain ("Example.COM." -> "example.com", IDNs to punycode), a
 * wildcard ("*.example.com") or a pattern ("casino*.example"), classified and normalized by the same
 * classifier the list importers use.
 */
export const blocklistRuleInputSchema = z.string().transform((value, context) => {
  const result = classifyRuleValue(value.trim());
  if (result.ok) return result.rule.value;
  context.addIssue({ code: "custom", message: `not a valid blocklist domain: ${result.reason}` });
  return z.NEVER;
});

/** A category as typed ("Sports Betting" -> "sports_betting"); an empty string is no category (null). */
export const categoryInputSchema = z
  .string()
  .max(100)
  .transform((value, context) => {
    const result = normalizeCategory(value);
    if (result.ok) return result.category ?? null;
    context.addIssue({ code: "custom", message: result.reason });
    return z.NEVER;
  });

/** The kind of rule a stored blocklist value is (see list-rule.ts). */
export function ruleTypeOf(value: string): ListRuleType {
  if (value.startsWith("*.") && !/[*?]/.test(value.slice(2))) return "wildcard";
  return /[*?]/.test(value) ? "pattern" : "domain";
}

const domainText = plainTextSchema(500).min(1);
const rankText = z
  .string()
  .max(40)
  .regex(/^-?\d+(?:\.\d+)?(?:e[+-]?\d+)?$/);

/** Cursor of the entry list: ["d", domain] for plain listings, ["r", rank, domain] for searches. */
export const entryCursorSchema = cursorSchema(
  z
    .union([z.tuple([z.literal("d"), domainText]), z.tuple([z.literal("r"), rankText, domainText])])
    .transform(
      (tuple): EntrySearchPosition =>
        tuple[0] === "d"
          ? { kind: "domain", domain: tuple[1] }
          : { kind: "rank", rank: tuple[1], domain: tuple[2] },
    ),
);

export function encodeEntryCursor(position: EntrySearchPosition): string {
  return encodeCursor(
    position.kind === "domain" ? ["d", position.domain] : ["r", position.rank, position.domain],
  );
}

/** Trimmed, lower-cased; null when nothing is left (a plain listing). */
/** The search term as a request carries it. */
export const searchTermSchema = plainTextSchema(MAX_SEARCH_TERM_LENGTH);

export function normalizeSearchTerm(q: string | undefined): string | null {
  const term = q?.trim().toLowerCase() ?? "";
  return term === "" ? null : term;
}

/** A cursor made by a search only continues a search, a listing's only a listing. */
export function cursorMatchesSearch(position: EntrySearchPosition, q: string | undefined): boolean {
  return (position.kind === "rank") === (normalizeSearchTerm(q) !== null);
}

export interface EntrySearchInput {
  q?: string;
  /** Any stored status (including those only list-source syncs set). */
  status?: StoredEntryStatus;
  /** Normalized (categoryInputSchema). */
  category?: string | null;
  source?: BlocklistSource;
  after?: EntrySearchPosition | null;
  limit?: number;
}

export interface EntryPage {
  items: AdminEntry[];
  next: EntrySearchPosition | null;
}

export async function searchBlocklistEntries(
  tx: TransactionSql,
  actor: Actor,
  input: EntrySearchInput,
): Promise<EntryPage> {
  assertAdmin(actor);
  const limit = input.limit ?? DEFAULT_ENTRIES_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_ENTRIES_PAGE_SIZE) {
    throw new AppError("VALIDATION_FAILED", `limit must be 1-${MAX_ENTRIES_PAGE_SIZE}`, {
      fieldErrors: [{ path: "limit", message: `must be between 1 and ${MAX_ENTRIES_PAGE_SIZE}` }],
    });
  }
  const q = normalizeSearchTerm(input.q);
  if (q !== null && q.length > MAX_SEARCH_TERM_LENGTH) {
    throw new AppError("VALIDATION_FAILED", "search term too long", {
      fieldErrors: [{ path: "q", message: `must be at most ${MAX_SEARCH_TERM_LENGTH} characters` }],
    });
  }
  if (input.after && !cursorMatchesSearch(input.after, input.q)) {
    throw new AppError("VALIDATION_FAILED", "the cursor belongs to another query", {
      fieldErrors: [{ path: "cursor", message: "belongs to a query with a different search term" }],
    });
  }
  const hits = await searchEntries(tx, {
    q,
    status: input.status ?? null,
    category: input.category ?? null,
    source: input.source ?? null,
    after: input.after ?? null,
    limit: limit + 1,
  });
  const page = hits.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map(({ position: _position, ...entry }) => entry),
    next: hits.length > limit && last ? last.position : null,
  };
}

/**
 * Adds a curated, active entry (confidence 100) for an admin. CONFLICT when the domain is already in
 * blocklist_entries in any status (details name the existing entry, which the admin can PATCH instead).
 */
export async function createBlocklistEntry(
  tx: TransactionSql,
  actor: Actor,
  input: { domain: string; category: string | null },
): Promise<AdminEntry> {
  assertAdmin(actor);
  const entry = await insertEntry(tx, {
    domain: input.domain,
    category: input.category,
    source: "curated",
    status: "active",
    confidenceScore: 100,
    addedByAccountId: actor.id,
  });
  if (entry) return entry;
  const existing = await findEntryByDomain(tx, input.domain);
  throw new AppError("CONFLICT", "this domain is already in the blocklist", {
    id: existing?.id ?? null,
    status: existing?.status ?? null,
  });
}

/**
 * Changes an entry's category and/or status (active, review, rejected: rejecting is status "rejected";
 * entries are never deleted, so a rejected domain is not re-imported as new). NOT_FOUND for an unknown id.
 */
export async function updateBlocklistEntry(
  tx: TransactionSql,
  actor: Actor,
  id: number,
  changes: { category?: string | null; status?: BlocklistEntryStatus },
): Promise<AdminEntry> {
  assertAdmin(actor);
  if (changes.category === undefined && changes.status === undefined) {
    throw new AppError("VALIDATION_FAILED", "nothing to change", {
      fieldErrors: [{ path: "", message: "give category, status or both" }],
    });
  }
  const entry = await updateEntry(tx, id, changes);
  if (!entry) throw new AppError("NOT_FOUND", "blocklist entry not found");
  return entry;
}

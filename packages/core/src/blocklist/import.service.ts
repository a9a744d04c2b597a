/**
 * Importing a gambling list into blocklist_entries: stream the source, parse each line with the format's
 * parser (a malformed line is reported with its number and reason and skipped, never aborting the import),
 * and upsert in batches (idempotent: importing the same list twice changes nothing).
 */

import { normalizeCategory } from "@betblocker/common/domain/category";
import { AppError } from "@betblocker/common/errors/app-error";
import {
  createListParser,
  LIST_FORMAT_VALUES,
  type ListFormat,
  type ListReject,
} from "@betblocker/common/lists/index";
import type { Sql } from "@betblocker/db/client";
import { type ActorContext, withActor } from "@betblocker/db/context";
import {
  type BlocklistSource,
  type EntryInput,
  upsertAllowlist,
  upsertEntries,
} from "@betblocker/db/repositories/blocklist.repository";
import { type ListReadProgress, openList } from "./list-source";

export const BLOCKLIST_SOURCES: readonly BlocklistSource[] = ["curated", "automated", "federated"];
const DEFAULT_BATCH_SIZE = 5000;
/** Rejects kept in the report; the count is always exact. */
const MAX_KEPT_REJECTS = 1000;

export interface ImportOptions {
  location: string;
  format: ListFormat;
  /** Category for entries whose line carries none (only CSV lines carry one). */
  category?: string;
  source: BlocklistSource;
  actor: ActorContext;
  batchSize?: number;
  onProgress?: (progress: ListReadProgress & { entries: number }) => void;
  onReject?: (reject: ListReject) => void;
}

export interface ImportReport {
  lines: number;
  entries: number;
  inserted: number;
  updated: number;
  unchanged: number;
  skipped: number;
  rejected: number;
  rejects: ListReject[];
  durationMs: number;
}

export function parseListFormat(value: string): ListFormat {
  if ((LIST_FORMAT_VALUES as readonly string[]).includes(value)) return value as ListFormat;
  throw new AppError(
    "VALIDATION_FAILED",
    `unknown list format ${JSON.stringify(value)} (expected ${LIST_FORMAT_VALUES.join(", ")})`,
  );
}

export function parseBlocklistSource(value: string): BlocklistSource {
  if ((BLOCKLIST_SOURCES as readonly string[]).includes(value)) return value as BlocklistSource;
  throw new AppError(
    "VALIDATION_FAILED",
    `unknown source ${JSON.stringify(value)} (expected ${BLOCKLIST_SOURCES.join(", ")})`,
  );
}

export async function importBlocklist(sql: Sql, options: ImportOptions): Promise<ImportReport> {
  const started = Date.now();
  let defaultCategory: string | null = null;
  if (options.category !== undefined) {
    const normalized = normalizeCategory(options.category);
    if (!normalized.ok) throw new AppError("VALIDATION_FAILED", `--category: ${normalized.reason}`);
    defaultCategory = normalized.category ?? null;
  }
  const list = await openList(options.location);
  const parser = createListParser(options.format);
  const report: ImportReport = {
    lines: 0,
    entries: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    skipped: 0,
    rejected: 0,
    rejects: [],
    durationMs: 0,
  };
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  let batch: EntryInput[] = [];

  const flush = async () => {
    if (batch.length === 0) return;
    const rows = batch;
    batch = [];
    const counts = await withActor(sql, options.actor, (tx) =>
      upsertEntries(tx, rows, {
        source: options.source,
        status: "active",
        confidenceScore: 100,
        addedByAccountId: options.actor.accountId,
      }),
    );
    report.inserted += counts.inserted;
    report.updated += counts.updated;
    report.unchanged += counts.unchanged;
    options.onProgress?.({ ...list.progress(), entries: report.entries });
  };

  for await (const text of list.lines) {
    report.lines++;
    for (const outcome of parser.line(text, report.lines)) {
      if (outcome.kind === "skip") report.skipped++;
      else if (outcome.kind === "reject") {
        report.rejected++;
        if (report.rejects.length < MAX_KEPT_REJECTS) report.rejects.push(outcome);
        options.onReject?.(outcome);
      } else {
        report.entries++;
        batch.push({ domain: outcome.rule.value, category: outcome.rule.category ?? defaultCategory });
      }
    }
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  report.durationMs = Date.now() - started;
  return report;
}

export interface AllowlistImportReport {
  lines: number;
  entries: number;
  added: number;
  rejected: number;
  rejects: ListReject[];
}

/** Help resources: plain domains (one per line, `#` comments). Each covers its subdomains and always wins. */
export async function importAllowlist(
  sql: Sql,
  location: string,
  actor: ActorContext,
  reason: string | null = null,
): Promise<AllowlistImportReport> {
  const list = await openList(location);
  const parser = createListParser("domains");
  const report: AllowlistImportReport = { lines: 0, entries: 0, added: 0, rejected: 0, rejects: [] };
  const domains: string[] = [];
  for await (const text of list.lines) {
    report.lines++;
    for (const outcome of parser.line(text, report.lines)) {
      if (outcome.kind === "entry" && outcome.rule.type === "domain") {
        report.entries++;
        domains.push(outcome.rule.value);
      } else if (outcome.kind === "entry") {
        report.rejected++;
        report.rejects.push({
          kind: "reject",
          line: report.lines,
          reason: "allowlist entries must be plain domains",
          text,
        });
      } else if (outcome.kind === "reject") {
        report.rejected++;
        report.rejects.push(outcome);
      }
    }
  }
  report.added = await withActor(sql, actor, (tx) =>
    upsertAllowlist(
      tx,
      domains.map((domain) => ({ domain, reason })),
      actor.accountId,
    ),
  );
  return report;
}

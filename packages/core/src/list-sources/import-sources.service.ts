/**
 * The scheduled import of list sources (job list-sources.import, and `betblocker sources fetch`):
 *
 * 1. claim due sources with a lease (several replicas never fetch the same source at once);
 * 2. fetch each with a conditional GET (304 -> 'not_modified'; an unchanged body -> 'not_modified' too);
 * 3. parse the whole list with the shared parsers, then REFUSE it when it is empty or shrank below
 *    list_sources.min_keep_ratio of the last accepted list;
 * 4. apply the diff in one transaction (inserts, provenance, removals, deactivation of entries no source lists
 *    any more) and record the outcome with the new validators.
 *
 * Failure rule: a fetch error, an HTTP error, a refused list or a crash changes no entry. The failure is
 * recorded (last_status 'error', last_error, consecutive_failures) and, at failure_alert_threshold failures
 * in a row, an operator alert is queued in the same transaction (one per failure streak).
 */
import { createHash } from "node:crypto";
import { createListParser, type ListFormat } from "@betblocker/common/lists/index";
import type { Sql } from "@betblocker/db/client";
import { type ActorContext, withActor } from "@betblocker/db/context";
import {
  applyListSourceDiff,
  claimListSources,
  type DiffCounts,
  type IncomingEntry,
  type ListSourceRow,
  lockLeasedListSource,
  lockListSourceDiffs,
  recordListSourceFailure,
  recordListSourceSuccess,
  releaseListSourceLease,
} from "@betblocker/db/repositories/list-source.repository";
import { enqueueOperatorAlert } from "../alerts/alert.service";
import { type JobLogger, noopLogger } from "../jobs/job";
import type { AlertsConfig, ListSourcesConfig } from "../jobs/worker.config";
import { type FetchedList, fetchList } from "./fetch-list";

/** Longest a claimed source may take (fetch + parse + apply) before another worker may take it over. */
const LEASE_SECONDS = 15 * 60;

export class RefusedListError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RefusedListError";
  }
}

export interface ImportSourcesDeps {
  /** Application-role pool. */
  sql: Sql;
  actor: ActorContext;
  config: {
    listSources: ListSourcesConfig;
    alerts: Pick<AlertsConfig, "operatorEmails" | "operatorWebhooks">;
  };
  /** Lease owner: unique per worker process (and per CLI run). */
  owner: string;
  signal?: AbortSignal;
  log?: JobLogger;
  /** Tests only: called inside the apply transaction before it commits (simulate a crash mid-import). */
  beforeCommit?: (source: ListSourceRow) => void | Promise<void>;
}

export interface ImportSourcesOptions {
  /** Only these sources, due or not, enabled or not (`sources fetch NAME`). */
  names?: readonly string[];
  /** Fetch every enabled source now, ignoring min_interval_minutes (`sources fetch` without a name). */
  force?: boolean;
}

export interface SourceImportResult {
  name: string;
  status: "ok" | "not_modified" | "error";
  error: string | null;
  /** Entries in the fetched list (0 when not fetched or refused). */
  entries: number;
  rejected: number;
  diff: DiffCounts | null;
  alerted: boolean;
  durationMs: number;
}

export interface ImportSourcesReport {
  results: SourceImportResult[];
  /** The batch limit was reached: more sources may be due. */
  more: boolean;
}

export async function importListSources(
  deps: ImportSourcesDeps,
  options: ImportSourcesOptions = {},
): Promise<ImportSourcesReport> {
  const limit = options.names ? Math.max(options.names.length, 1) : deps.config.listSources.batchSize;
  const claimed = await withActor(deps.sql, deps.actor, (tx) =>
    claimListSources(tx, {
      owner: deps.owner,
      leaseSeconds: LEASE_SECONDS,
      limit,
      minIntervalSeconds: options.force ? 0 : deps.config.listSources.minIntervalMinutes * 60,
      ...(options.names ? { names: options.names } : {}),
    }),
  );
  const results: SourceImportResult[] = [];
  for (const source of claimed) {
    if (deps.signal?.aborted) {
      // Shutting down: hand unstarted sources back instead of leaving their leases to expire.
      await withActor(deps.sql, deps.actor, (tx) => releaseListSourceLease(tx, source.id, deps.owner));
      continue;
    }
    results.push(await importOne(deps, source));
  }
  return { results, more: !options.names && claimed.length >= limit };
}

interface ParsedBody {
  entries: IncomingEntry[];
  rejected: number;
}

export function parseListBody(format: ListFormat, body: Buffer): ParsedBody {
  const parser = createListParser(format);
  const unique = new Map<string, string | null>();
  let rejected = 0;
  const text = body.toString("utf8");
  let lineNumber = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    lineNumber++;
    if (line === "" && start > text.length) break;
    for (const outcome of parser.line(line, lineNumber)) {
      if (outcome.kind === "reject") rejected++;
      else if (outcome.kind === "entry" && !unique.has(outcome.rule.value))
        unique.set(outcome.rule.value, outcome.rule.category ?? null);
    }
  }
  return { entries: [...unique].map(([domain, category]) => ({ domain, category })), rejected };
}

async function importOne(deps: ImportSourcesDeps, source: ListSourceRow): Promise<SourceImportResult> {
  const started = Date.now();
  const log = deps.log ?? noopLogger;
  const cfg = deps.config.listSources;
  const result: SourceImportResult = {
    name: source.name,
    status: "error",
    error: null,
    entries: 0,
    rejected: 0,
    diff: null,
    alerted: false,
    durationMs: 0,
  };
  // Validators are only sent when the stored list was accepted: after a refusal or a failure the next fetch
  // must be a full one (they are not updated on failure, so they still describe the accepted list).
  const hasAcceptedList = source.contentSha256 !== null;
  try {
    const fetched: FetchedList = await fetchList(source.location, {
      etag: hasAcceptedList ? source.etag : null,
      lastModified: hasAcceptedList ? source.lastModified : null,
      timeoutMs: cfg.fetchTimeoutSeconds * 1000,
      maxBytes: cfg.maxBytes,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    const contentSha256 =
      fetched.kind === "content" ? createHash("sha256").update(fetched.body).digest() : source.contentSha256;
    if (
      fetched.kind === "not_modified" ||
      (source.contentSha256 !== null && contentSha256 !== null && source.contentSha256.equals(contentSha256))
    ) {
      await withActor(deps.sql, deps.actor, async (tx) => {
        if (!(await lockLeasedListSource(tx, source.id, deps.owner))) throw new Error("lease lost");
        await recordListSourceSuccess(tx, source.id, {
          status: "not_modified",
          etag: fetched.etag,
          lastModified: fetched.lastModified,
          contentSha256,
          entriesCount: source.entriesCount,
        });
      });
      result.status = "not_modified";
      result.entries = source.entriesCount;
      log.info(`list source ${source.name}: not modified`);
      return result;
    }

    const parsed = parseListBody(source.format, fetched.body);
    result.rejected = parsed.rejected;
    if (parsed.entries.length === 0) {
      throw new RefusedListError(
        `refused: the list has no valid ${source.format} entries (${parsed.rejected} lines rejected); entries kept`,
      );
    }
    const floor = Math.ceil(source.entriesCount * cfg.minKeepRatio);
    if (source.entriesCount > 0 && parsed.entries.length < floor) {
      throw new RefusedListError(
        `refused: the list shrank from ${source.entriesCount} to ${parsed.entries.length} entries ` +
          `(below ${Math.round(cfg.minKeepRatio * 100)}% of the last accepted list); entries kept`,
      );
    }

    result.diff = await withActor(deps.sql, deps.actor, async (tx) => {
      const locked = await lockLeasedListSource(tx, source.id, deps.owner);
      if (!locked) throw new Error("lease lost (another worker took the source over); nothing applied");
      await lockListSourceDiffs(tx);
      const diff = await applyListSourceDiff(tx, source.id, parsed.entries, source.category);
      await recordListSourceSuccess(tx, source.id, {
        status: "ok",
        etag: fetched.etag,
        lastModified: fetched.lastModified,
        contentSha256,
        entriesCount: parsed.entries.length,
      });
      await deps.beforeCommit?.(source);
      return diff;
    });
    result.status = "ok";
    result.entries = parsed.entries.length;
    log.info(`list source ${source.name}: imported`, { entries: parsed.entries.length, ...result.diff });
    return result;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    result.error = message;
    log.warn(`list source ${source.name}: ${message}`);
    result.alerted = await recordFailure(deps, source, message);
    return result;
  } finally {
    result.durationMs = Date.now() - started;
  }
}

/** Records the failure; queues one operator alert per failure streak once it reaches the threshold. */
async function recordFailure(
  deps: ImportSourcesDeps,
  source: ListSourceRow,
  message: string,
): Promise<boolean> {
  return await withActor(deps.sql, deps.actor, async (tx) => {
    const row = await recordListSourceFailure(tx, source.id, message);
    if (!row || row.consecutiveFailures < deps.config.listSources.failureAlertThreshold) return false;
    const recipients = await enqueueOperatorAlert(tx, deps.config.alerts, {
      incidentKey: `list-source:${row.id}:failing-since:${row.failingSince?.toISOString() ?? "unknown"}`,
      subject: `BetBlocker: list source ${row.name} is failing (${row.consecutiveFailures} attempts in a row)`,
      payload: {
        kind: "list_source_failing",
        source: row.name,
        location: row.location,
        consecutive_failures: row.consecutiveFailures,
        failing_since: row.failingSince?.toISOString() ?? null,
        last_error: message,
        note: "Entries from this source are kept as they were; the list stops updating until the source recovers.",
      },
    });
    if (recipients === 0) {
      (deps.log ?? noopLogger).error(
        `list source ${row.name} failed ${row.consecutiveFailures} times in a row and no operator is configured to be alerted (alerts.operator_emails / operator_webhooks)`,
      );
    }
    return recipients > 0;
  });
}

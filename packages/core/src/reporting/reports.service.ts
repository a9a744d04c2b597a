/**
 * Reports of an enrollment for the people allowed to read them: the event list and the daily summaries.
 * Every method runs in the caller's transaction as the reader (row-level security applies), resolves the
 * reader's view (privacy.ts) and applies it before anything is returned.
 *
 * Events recorded while their kind was not reported to the enrolling account (events.visible_to_authority =
 * false, set at ingestion, migration 0015) stay hidden from it even if reporting_config shares that kind now:
 * both gates must be open.
 *
 * Visibility of the enrollment: enrollments RLS (enrolled_by, device owner or admin) and then readerViewFor
 * (owner or enrolling account only). Both failures are the same NOT_FOUND, so a caller cannot tell an
 * enrollment they may not read from one that does not exist.
 */
import { reportingSummarySchema } from "@betblocker/common/config/reporting-summary.schema";
import type { EventType } from "@betblocker/common/enums";
import { AppError } from "@betblocker/common/errors/app-error";
import type { TransactionSql } from "@betblocker/db/client";
import {
  daysWithEventsHiddenFromAuthority,
  type EventPosition,
  findEnrollmentByPublicId,
  listEventsPage,
  listSnapshots,
  type ReaderEnrollment,
} from "@betblocker/db/repositories/reporting.repository";
import { z } from "zod";
import type { Clock } from "../auth/clock";
import { cursorSchema, encodeCursor, microsecondInstantSchema, positiveIdSchema } from "./cursor";
import { computeDailySummary } from "./daily-summary";
import {
  addDays,
  type DateRange,
  eachDay,
  earlierDate,
  laterDate,
  resolveDateRange,
  startOfUtcDay,
  utcDay,
} from "./date-range";
import {
  filterEventForReader,
  filterSummaryForReader,
  type ReaderSummary,
  type ReaderView,
  type ReportEvent,
  readerViewFor,
  visibleEventTypes,
} from "./privacy";

export const MAX_EVENTS_PAGE_SIZE = 200;
export const DEFAULT_EVENTS_PAGE_SIZE = 50;

/** Cursor of the event list: [created_at with microseconds, id] of the last row of the previous page. */
export const eventCursorSchema = cursorSchema(
  z.tuple([microsecondInstantSchema, positiveIdSchema]).transform(([createdAt, id]) => ({ createdAt, id })),
);

export function encodeEventCursor(position: EventPosition): string {
  return encodeCursor([position.createdAt, position.id]);
}

/** Who is reading: the authenticated account (its role is irrelevant here, see privacy.ts). */
export interface Reader {
  id: number;
}

export interface ListEventsInput {
  from?: string;
  to?: string;
  type?: EventType;
  after?: EventPosition | null;
  limit?: number;
}

export interface EventsPage {
  view: ReaderView;
  range: DateRange;
  items: ReportEvent[];
  /** Position after the last item, or null on the last page. */
  next: EventPosition | null;
}

export type ReportSource = "snapshot" | "computed";

export interface DailyReport {
  date: string;
  /** snapshot: the worker's stored summary; computed: aggregated from events now (no valid snapshot yet). */
  source: ReportSource;
  /** False for today (the day is not over). */
  complete: boolean;
  summary: ReaderSummary;
}

export interface DailyReportsPage {
  view: ReaderView;
  range: DateRange;
  items: DailyReport[];
}

export interface ReportsService {
  listEvents(
    tx: TransactionSql,
    reader: Reader,
    enrollmentPublicId: string,
    input: ListEventsInput,
  ): Promise<EventsPage>;
  listDailyReports(
    tx: TransactionSql,
    reader: Reader,
    enrollmentPublicId: string,
    input: { from?: string; to?: string },
  ): Promise<DailyReportsPage>;
}

async function resolveReader(
  tx: TransactionSql,
  reader: Reader,
  enrollmentPublicId: string,
): Promise<{ enrollment: ReaderEnrollment; view: ReaderView }> {
  const enrollment = await findEnrollmentByPublicId(tx, enrollmentPublicId);
  const view =
    enrollment &&
    readerViewFor({
      readerAccountId: reader.id,
      readerOwnsDevice: enrollment.readerOwnsDevice,
      enrolledByAccountId: enrollment.enrolledByAccountId,
      reportingConfig: enrollment.reportingConfig,
    });
  if (!enrollment || !view) throw new AppError("NOT_FOUND", "enrollment not found");
  return { enrollment, view };
}

function asMetadata(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

export function createReportsService(deps: { clock: Clock }): ReportsService {
  return {
    async listEvents(tx, reader, enrollmentPublicId, input) {
      const limit = input.limit ?? DEFAULT_EVENTS_PAGE_SIZE;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_EVENTS_PAGE_SIZE) {
        throw new AppError("VALIDATION_FAILED", `limit must be 1-${MAX_EVENTS_PAGE_SIZE}`, {
          fieldErrors: [{ path: "limit", message: `must be between 1 and ${MAX_EVENTS_PAGE_SIZE}` }],
        });
      }
      const { enrollment, view } = await resolveReader(tx, reader, enrollmentPublicId);
      const range = resolveDateRange(input, utcDay(deps.clock()));
      const rows = await listEventsPage(tx, {
        enrollmentId: enrollment.id,
        from: range.start,
        to: range.end,
        // Filtered in SQL, not after the fact, so a page is always full when more rows exist.
        eventTypes: visibleEventTypes(view, input.type),
        onlyVisibleToAuthority: view.reader === "enrolling_account",
        after: input.after ?? null,
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      const items: ReportEvent[] = [];
      for (const row of page) {
        const event = filterEventForReader(view, {
          eventType: row.eventType as EventType,
          metadata: asMetadata(row.metadata),
          createdAt: row.createdAt,
        });
        if (event) items.push(event);
      }
      const last = page[page.length - 1];
      return { view, range, items, next: rows.length > limit && last ? last.position : null };
    },

    async listDailyReports(tx, reader, enrollmentPublicId, input) {
      const { enrollment, view } = await resolveReader(tx, reader, enrollmentPublicId);
      const now = deps.clock();
      const today = utcDay(now);
      const range = resolveDateRange(input, today);
      // No report before the enrollment existed, none for days that have not begun.
      const firstDay = laterDate(range.from, utcDay(enrollment.createdAt));
      const lastDay = earlierDate(range.to, today);
      if (firstDay > lastDay) return { view, range, items: [] };

      const snapshots = new Map(
        (await listSnapshots(tx, enrollment.id, firstDay, lastDay)).map((row) => [row.date, row.summary]),
      );
      // Snapshots count every event; on days with events hidden from the enrolling account its summary is
      // computed from the events it may see.
      const hiddenDays =
        view.reader === "enrolling_account"
          ? await daysWithEventsHiddenFromAuthority(
              tx,
              enrollment.id,
              startOfUtcDay(firstDay),
              startOfUtcDay(addDays(lastDay, 1)),
            )
          : new Set<string>();
      const items: DailyReport[] = [];
      for (const date of eachDay(firstDay, lastDay)) {
        const hidden = hiddenDays.has(date);
        const stored = hidden ? null : reportingSummarySchema.safeParse(snapshots.get(date));
        // A missing or invalid snapshot is recomputed with the worker's own aggregation.
        const summary = stored?.success
          ? stored.data
          : await computeDailySummary(tx, enrollment.id, date, {
              now,
              audience: hidden ? "enrolling_account" : "all",
            });
        items.push({
          date,
          source: stored?.success ? "snapshot" : "computed",
          complete: date < today,
          summary: filterSummaryForReader(view, summary),
        });
      }
      return { view, range, items };
    },
  };
}

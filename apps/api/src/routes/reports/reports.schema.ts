/** Request and response schemas of the enrollment reports (/api/v1/enrollments/{id}/events and /reports). */
import { DEVICE_STATUS_VALUES, eventTypeSchema } from "@betblocker/common/enums";
import { dateRangeProblems, MAX_RANGE_DAYS } from "@betblocker/core/reporting/date-range";
import { describeView, type ReaderView } from "@betblocker/core/reporting/privacy";
import {
  DEFAULT_EVENTS_PAGE_SIZE,
  eventCursorSchema,
  MAX_EVENTS_PAGE_SIZE,
} from "@betblocker/core/reporting/reports.service";
import { z } from "zod";
import { pageLimitSchema } from "../admin-blocklist/admin-blocklist.schema";

export const enrollmentParamsSchema = z.object({
  id: z.uuid().meta({ description: "Public id of the enrollment." }),
});

const dateRangeShape = {
  from: z.iso
    .date()
    .optional()
    .meta({ description: "First UTC day, inclusive (default: six days before `to`)." }),
  to: z.iso
    .date()
    .optional()
    .meta({
      description: `Last UTC day, inclusive (default: today). At most ${MAX_RANGE_DAYS} days from \`from\`.`,
    }),
};

const isoDate = z.iso.date();

function checkRange(query: { from?: string | undefined; to?: string | undefined }, context: z.RefinementCtx) {
  // zod runs object refinements even when a field already failed: compare only two valid dates.
  if (!isoDate.safeParse(query.from).success || !isoDate.safeParse(query.to).success) return;
  if (query.from === undefined || query.to === undefined) return;
  for (const problem of dateRangeProblems(query.from, query.to)) {
    context.addIssue({ code: "custom", path: [problem.path], message: problem.message });
  }
}

export const eventsQuerySchema = z
  .object({
    ...dateRangeShape,
    type: eventTypeSchema.optional(),
    cursor: eventCursorSchema.optional(),
    limit: pageLimitSchema(MAX_EVENTS_PAGE_SIZE, DEFAULT_EVENTS_PAGE_SIZE),
  })
  .superRefine(checkRange);

export const reportsQuerySchema = z.object(dateRangeShape).superRefine(checkRange);

const sharedSchema = z.object({
  blocks: z.boolean(),
  bypass_attempts: z.boolean(),
  tamper_events: z.boolean(),
  heartbeat_status: z.boolean(),
  config_changes: z.boolean(),
});

export const visibilitySchema = z
  .object({
    reader: z.enum(["owner", "enrolling_account"]).meta({
      description: "owner: the device's owner, sees everything; enrolling_account: the partner or authority.",
    }),
    domains_visible: z
      .boolean()
      .meta({ description: "False when reporting_config.aggregation_level is aggregated." }),
    shared: sharedSchema.meta({
      description: "Which kinds of events reporting_config.report_to_authority shares.",
    }),
  })
  .meta({ id: "ReportVisibility" });

export const toVisibility = (view: ReaderView) => describeView(view);

export const eventSchema = z
  .object({
    event_type: eventTypeSchema,
    created_at: z.iso.datetime({ offset: true }),
    metadata: z.record(z.string(), z.unknown()).meta({
      description: "Spec 9.4 payload, reduced to counts and categories when domains are not visible.",
    }),
  })
  .meta({ id: "EnrollmentEvent" });

export const eventsResponseSchema = z.object({
  enrollment_id: z.uuid(),
  from: z.iso.date(),
  to: z.iso.date(),
  visibility: visibilitySchema,
  items: z.array(eventSchema).meta({ description: "Newest first." }),
  next_cursor: z.string().nullable(),
});

const count = z.int().min(0);

export const readerSummarySchema = z
  .object({
    total_blocks: count.nullable(),
    total_bypass_attempts: count.nullable(),
    total_tamper_events: count.nullable(),
    total_heartbeats: count.nullable(),
    missed_heartbeats: count.nullable(),
    top_blocked_domains: z
      .array(z.object({ domain: z.string(), count: z.int() }))
      .nullable()
      .meta({ description: "Empty when domain names are not visible to the reader." }),
    blocks_by_category: z.record(z.string(), count).nullable(),
    blocks_by_layer: z.object({ dns: count, application: count, browser: count }).nullable(),
    device_status_at_end_of_day: z.enum(DEVICE_STATUS_VALUES).nullable(),
  })
  .meta({
    id: "DailySummary",
    description: "Spec 9.5 summary; a field is null when its kind is not shared with the reader (0 = none).",
  });

export const reportsResponseSchema = z.object({
  enrollment_id: z.uuid(),
  from: z.iso.date(),
  to: z.iso.date(),
  visibility: visibilitySchema,
  items: z
    .array(
      z.object({
        date: z.iso.date(),
        source: z.enum(["snapshot", "computed"]).meta({
          description: "snapshot: stored by the worker; computed: aggregated from events on request.",
        }),
        complete: z.boolean().meta({ description: "False for today (the day is not over)." }),
        summary: readerSummarySchema,
      }),
    )
    .meta({
      description:
        "One per day from the later of `from` and the enrollment's first day, through `to` or today.",
    }),
});

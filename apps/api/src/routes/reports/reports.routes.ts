/**
 * /api/v1/enrollments/{id}/events and /reports: an enrollment's events and daily summaries, for the device's
 * owner (everything) and the enrolling partner or authority (what reporting_config shares). Anyone else gets
 * 404, as for an enrollment that does not exist. The privacy rules live in core (reporting/privacy.ts).
 */
import { encodeEventCursor, type ReportsService } from "@betblocker/core/reporting/reports.service";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { errorResponses } from "../../http/responses";
import {
  enrollmentParamsSchema,
  eventsQuerySchema,
  eventsResponseSchema,
  reportsQuerySchema,
  reportsResponseSchema,
  toVisibility,
} from "./reports.schema";

export interface ReportRoutesOptions {
  reportsService: ReportsService;
}

export const reportRoutes: FastifyPluginAsyncZod<ReportRoutesOptions> = async (app, { reportsService }) => {
  app.addHook("onSend", async (_request, reply) => {
    // Personal data: never stored by shared caches.
    reply.header("cache-control", "private, no-store");
  });

  app.get(
    "/:id/events",
    {
      config: { auth: true },
      schema: {
        tags: ["reports"],
        summary: "An enrollment's events, newest first (cursor pagination)",
        params: enrollmentParamsSchema,
        querystring: eventsQuerySchema,
        response: { 200: eventsResponseSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const { from, to, type, cursor, limit } = request.query;
      const page = await request.withActor((tx, account) =>
        reportsService.listEvents(tx, account, request.params.id, {
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
          ...(type !== undefined ? { type } : {}),
          after: cursor ?? null,
          limit,
        }),
      );
      return {
        enrollment_id: request.params.id,
        from: page.range.from,
        to: page.range.to,
        visibility: toVisibility(page.view),
        items: page.items.map((event) => ({
          event_type: event.eventType,
          created_at: event.createdAt.toISOString(),
          metadata: event.metadata,
        })),
        next_cursor: page.next ? encodeEventCursor(page.next) : null,
      };
    },
  );

  app.get(
    "/:id/reports",
    {
      config: { auth: true },
      schema: {
        tags: ["reports"],
        summary: "An enrollment's daily summaries (stored snapshots, or computed for days without one)",
        params: enrollmentParamsSchema,
        querystring: reportsQuerySchema,
        response: { 200: reportsResponseSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const { from, to } = request.query;
      const page = await request.withActor((tx, account) =>
        reportsService.listDailyReports(tx, account, request.params.id, {
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
        }),
      );
      return {
        enrollment_id: request.params.id,
        from: page.range.from,
        to: page.range.to,
        visibility: toVisibility(page.view),
        items: page.items,
      };
    },
  );
};

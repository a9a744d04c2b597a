/**
 * /api/v1/admin/review-queue: agent-reported and discovered domains awaiting a decision, admins only (403
 * for every other role). Decisions run in one transaction as the admin (audited, see review-queue.service.ts).
 */
import {
  confirmReviewDomain,
  encodeReviewQueueCursor,
  listReviewQueue,
  rejectReviewDomain,
} from "@betblocker/core/admin/review-queue.service";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { errorResponses } from "../../http/responses";
import { requireAdminToken } from "../admin-blocklist/require-admin";
import {
  confirmBodySchema,
  decisionResponseSchema,
  rejectBodySchema,
  reviewDomainParamsSchema,
  reviewQueueQuerySchema,
  reviewQueueResponseSchema,
  toDecisionResponse,
  toReviewQueueItemResponse,
} from "./review-queue.schema";

export interface ReviewQueueRoutesOptions {
  /** k: `[discovery] min_distinct_devices` of the loaded config (the worker's intake reads the same setting). */
  minDistinctDevices: number;
}

export const reviewQueueRoutes: FastifyPluginAsyncZod<ReviewQueueRoutesOptions> = async (app, options) => {
  const { minDistinctDevices } = options;
  app.get(
    "/",
    {
      // Exactly /api/v1/admin/review-queue (no second route with a trailing slash).
      prefixTrailingSlash: "no-slash",
      config: { auth: true },
      onRequest: [requireAdminToken],
      schema: {
        tags: ["admin"],
        summary: "Domains awaiting review, most distinct reporting devices first, then the longest waiting",
        querystring: reviewQueueQuerySchema,
        response: { 200: reviewQueueResponseSchema, ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const { cursor, limit } = request.query;
      const page = await request.withActor((tx, account) =>
        listReviewQueue(tx, account, { after: cursor ?? null, limit, minDistinctDevices }),
      );
      return {
        items: page.items.map(toReviewQueueItemResponse),
        next_cursor: page.next ? encodeReviewQueueCursor(page.next) : null,
      };
    },
  );

  app.post(
    "/:domain/confirm",
    {
      config: { auth: true },
      onRequest: [requireAdminToken],
      schema: {
        tags: ["admin"],
        summary: "Confirm a domain as gambling: activate (or create) its entry and resolve its reports",
        description:
          "Reports become confirmed (or duplicate when the domain was already active), with the entry and " +
          "the reviewing admin recorded. 404 when the domain is not in the queue.",
        params: reviewDomainParamsSchema,
        body: confirmBodySchema,
        response: { 200: decisionResponseSchema, ...errorResponses(400, 401, 403, 404, 409, 413, 415) },
      },
    },
    async (request) => {
      const category = request.body?.category;
      const decision = await request.withActor((tx, account) =>
        confirmReviewDomain(tx, account, request.params.domain, {
          ...(category !== undefined ? { category } : {}),
        }),
      );
      return toDecisionResponse(decision);
    },
  );

  app.post(
    "/:domain/reject",
    {
      config: { auth: true },
      onRequest: [requireAdminToken],
      schema: {
        tags: ["admin"],
        summary: "Reject a domain: its pending reports become rejected, a review entry becomes rejected",
        description: "An already active entry is left alone (un-blocking is PATCH .../entries/{id}).",
        params: reviewDomainParamsSchema,
        body: rejectBodySchema,
        response: { 200: decisionResponseSchema, ...errorResponses(400, 401, 403, 404, 413, 415) },
      },
    },
    async (request) => {
      const decision = await request.withActor((tx, account) =>
        rejectReviewDomain(tx, account, request.params.domain),
      );
      return toDecisionResponse(decision);
    },
  );
};

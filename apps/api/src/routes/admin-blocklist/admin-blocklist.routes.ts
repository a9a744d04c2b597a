/**
 * /api/v1/admin/blocklist/entries: blocklist curation, admins only (403 for every other role). Thin: validate
 * (schemas), call the admin services in one transaction as the admin (the audit trigger records them), shape.
 */
import {
  createBlocklistEntry,
  encodeEntryCursor,
  searchBlocklistEntries,
  updateBlocklistEntry,
} from "@betblocker/core/admin/blocklist-admin.service";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { errorResponses } from "../../http/responses";
import {
  createEntryBodySchema,
  entryIdParamsSchema,
  entryListQuerySchema,
  entryListResponseSchema,
  entrySchema,
  toEntryResponse,
  updateEntryBodySchema,
} from "./admin-blocklist.schema";
import { requireAdminToken } from "./require-admin";

export const adminBlocklistRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    "/entries",
    {
      config: { auth: true },
      onRequest: [requireAdminToken],
      schema: {
        tags: ["admin"],
        summary: "Search and list blocklist entries",
        querystring: entryListQuerySchema,
        response: { 200: entryListResponseSchema, ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const { q, status, category, source, cursor, limit } = request.query;
      const page = await request.withActor((tx, account) =>
        searchBlocklistEntries(tx, account, {
          ...(q !== undefined ? { q } : {}),
          ...(status ? { status } : {}),
          ...(category ? { category } : {}),
          ...(source ? { source } : {}),
          after: cursor ?? null,
          limit,
        }),
      );
      return {
        items: page.items.map(toEntryResponse),
        next_cursor: page.next ? encodeEntryCursor(page.next) : null,
      };
    },
  );

  app.post(
    "/entries",
    {
      config: { auth: true },
      onRequest: [requireAdminToken],
      schema: {
        tags: ["admin"],
        summary: "Add a curated, active blocklist entry",
        description: "409 CONFLICT when the domain is already an entry in any status (details.id names it).",
        body: createEntryBodySchema,
        response: { 201: entrySchema, ...errorResponses(400, 401, 403, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const { domain, category } = request.body;
      const entry = await request.withActor((tx, account) =>
        createBlocklistEntry(tx, account, { domain, category: category ?? null }),
      );
      reply.status(201);
      return toEntryResponse(entry);
    },
  );

  app.patch(
    "/entries/:id",
    {
      config: { auth: true },
      onRequest: [requireAdminToken],
      schema: {
        tags: ["admin"],
        summary: "Change a blocklist entry's category or status (reject = status rejected)",
        params: entryIdParamsSchema,
        body: updateEntryBodySchema,
        response: { 200: entrySchema, ...errorResponses(400, 401, 403, 404, 413, 415) },
      },
    },
    async (request) => {
      const { category, status } = request.body;
      const entry = await request.withActor((tx, account) =>
        updateBlocklistEntry(tx, account, request.params.id, {
          ...(category !== undefined ? { category } : {}),
          ...(status !== undefined ? { status } : {}),
        }),
      );
      return toEntryResponse(entry);
    },
  );
};

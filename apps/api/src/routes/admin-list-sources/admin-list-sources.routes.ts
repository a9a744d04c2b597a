/**
 * /api/v1/admin/list-sources: the scheduled list sources (as `betblocker sources add|list|enable|disable|
 * remove|fetch`), admins only (403 for every other role). Thin: validate (schemas), call the admin services in
 * one transaction as the admin (the audit trigger on list_sources records them), shape.
 */

import { AppError } from "@betblocker/common/errors/app-error";
import {
  createListSourceForAdmin,
  deleteListSourceForAdmin,
  type FetchNowDeps,
  fetchListSourceNow,
  getListSourceForAdmin,
  listListSourcesForAdmin,
  updateListSourceForAdmin,
} from "@betblocker/core/admin/list-sources-admin.service";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { errorResponses } from "../../http/responses";
import { requireAdminToken } from "../admin-blocklist/require-admin";
import {
  createListSourceBodySchema,
  deleteListSourceResponseSchema,
  fetchResultSchema,
  listSourceListResponseSchema,
  listSourceParamsSchema,
  listSourceSchema,
  toFetchResultResponse,
  toListSourceResponse,
  updateListSourceBodySchema,
} from "./admin-list-sources.schema";

export interface AdminListSourcesOptions {
  /** Settings of "fetch now" (list_sources limits, operator alert recipients); null: that route answers 503. */
  fetchConfig: FetchNowDeps["config"] | null;
}

export const adminListSourceRoutes: FastifyPluginAsyncZod<AdminListSourcesOptions> = async (app, options) => {
  app.get(
    "/",
    {
      prefixTrailingSlash: "no-slash",
      config: { auth: true },
      onRequest: [requireAdminToken],
      schema: {
        tags: ["admin"],
        summary: "List sources with their last fetch (status, error, ETag, entry count), by name",
        response: { 200: listSourceListResponseSchema, ...errorResponses(401, 403) },
      },
    },
    async (request) => {
      const sources = await request.withActor((tx, account) => listListSourcesForAdmin(tx, account));
      return { items: sources.map(toListSourceResponse) };
    },
  );

  app.post(
    "/",
    {
      prefixTrailingSlash: "no-slash",
      config: { auth: true },
      onRequest: [requireAdminToken],
      schema: {
        tags: ["admin"],
        summary: "Add a list source (imported by the worker's schedule, or now with .../fetch)",
        description: "409 CONFLICT when the name is taken.",
        body: createListSourceBodySchema,
        response: { 201: listSourceSchema, ...errorResponses(400, 401, 403, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const { name, location, format, license, category, enabled } = request.body;
      const source = await request.withActor((tx, account) =>
        createListSourceForAdmin(tx, account, {
          name,
          location,
          format,
          license: license ?? null,
          category: category ?? null,
          enabled,
        }),
      );
      reply.status(201);
      return toListSourceResponse(source);
    },
  );

  app.get(
    "/:name",
    {
      config: { auth: true },
      onRequest: [requireAdminToken],
      schema: {
        tags: ["admin"],
        summary: "One list source",
        params: listSourceParamsSchema,
        response: { 200: listSourceSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) =>
      toListSourceResponse(
        await request.withActor((tx, account) => getListSourceForAdmin(tx, account, request.params.name)),
      ),
  );

  app.patch(
    "/:name",
    {
      config: { auth: true },
      onRequest: [requireAdminToken],
      schema: {
        tags: ["admin"],
        summary: "Enable or disable a list source, or change its license, category or format",
        description:
          "A new format or category makes the next fetch download and re-apply the whole list (the stored " +
          "ETag and content hash are cleared).",
        params: listSourceParamsSchema,
        body: updateListSourceBodySchema,
        response: { 200: listSourceSchema, ...errorResponses(400, 401, 403, 404, 413, 415) },
      },
    },
    async (request) => {
      const { enabled, license, category, format } = request.body;
      const source = await request.withActor((tx, account) =>
        updateListSourceForAdmin(tx, account, request.params.name, {
          ...(enabled !== undefined ? { enabled } : {}),
          ...(license !== undefined ? { license: license || null } : {}),
          ...(category !== undefined ? { category } : {}),
          ...(format !== undefined ? { format } : {}),
        }),
      );
      return toListSourceResponse(source);
    },
  );

  app.delete(
    "/:name",
    {
      config: { auth: true },
      onRequest: [requireAdminToken],
      schema: {
        tags: ["admin"],
        summary: "Remove a list source; entries only it listed become inactive (curated ones stay)",
        params: listSourceParamsSchema,
        response: { 200: deleteListSourceResponseSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { name } = request.params;
      const result = await request.withActor((tx, account) => deleteListSourceForAdmin(tx, account, name));
      return { name, deactivated: result.deactivated };
    },
  );

  app.post(
    "/:name/fetch",
    {
      config: { auth: true },
      onRequest: [requireAdminToken],
      schema: {
        tags: ["admin"],
        summary: "Fetch and import a list source now (enabled or not), as `betblocker sources fetch NAME`",
        description:
          "Answers when the import is done: 200 with the outcome, also when the fetch failed (status error; " +
          "entries are then left unchanged). 409 when a worker is fetching it right now; 503 when this API " +
          "process was started without the list-source settings.",
        params: listSourceParamsSchema,
        response: { 200: fetchResultSchema, ...errorResponses(400, 401, 403, 404, 409, 503) },
      },
    },
    async (request) => {
      const { name } = request.params;
      const actor = await request.withActor(async (tx, account) => {
        await getListSourceForAdmin(tx, account, name);
        return { accountId: account.id, role: account.role, ip: request.ip };
      });
      if (!options.fetchConfig) {
        throw new AppError(
          "SERVICE_UNAVAILABLE",
          "list-source fetching is not configured in this API process",
        );
      }
      const result = await fetchListSourceNow(
        { sql: app.database.sql, config: options.fetchConfig },
        actor,
        name,
      );
      const source = await request.withActor((tx, account) => getListSourceForAdmin(tx, account, name));
      return toFetchResultResponse(result, source);
    },
  );
};

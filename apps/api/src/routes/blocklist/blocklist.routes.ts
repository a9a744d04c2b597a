/**
 * /api/v1/blocklist: published versions, public (no account; the files are signed, their metadata is not
 * secret). The delta route serves the same signed bytes agents get through sync, for diagnostics.
 */
import { AppError } from "@betblocker/common/errors/app-error";
import { getDeltaRange, listVersionsPage } from "@betblocker/db/repositories/blocklist-version.repository";
import { DeltaChainSchema, encodeMessage, PROTOBUF_CONTENT_TYPE } from "@betblocker/proto";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { errorResponses } from "../../http/responses";
import {
  deltaParamsSchema,
  deltaQuerySchema,
  toVersionResponse,
  versionListQuerySchema,
  versionListResponseSchema,
} from "./blocklist.schema";

/** Longest chain the diagnostic route assembles. */
export const MAX_DIAGNOSTIC_CHAIN = 100;

export const blocklistRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    "/versions",
    {
      schema: {
        tags: ["blocklist"],
        summary: "Published blocklist versions, newest first",
        querystring: versionListQuerySchema,
        response: { 200: versionListResponseSchema, ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      const { limit, cursor } = request.query;
      const rows = await listVersionsPage(app.database.sql, {
        limit: limit + 1,
        beforeVersion: cursor === undefined ? null : Number(cursor),
      });
      const items = rows.slice(0, limit);
      const last = items[items.length - 1];
      reply.header("cache-control", "public, max-age=30");
      return {
        items: items.map(toVersionResponse),
        next_cursor: rows.length > limit && last ? String(last.versionNumber) : null,
      };
    },
  );

  app.get(
    "/versions/:n/delta",
    {
      schema: {
        tags: ["blocklist"],
        summary: "The signed delta(s) leading to version n",
        description:
          "from = n-1 (default): the signed BBDELT file of version n (application/octet-stream). from < n-1: a " +
          `protobuf DeltaChain (application/x-protobuf) of the deltas from+1 .. n, at most ${MAX_DIAGNOSTIC_CHAIN}. ` +
          "404 when a version or a delta of the chain does not exist (agents then get the full snapshot).",
        params: deltaParamsSchema,
        querystring: deltaQuerySchema,
        response: {
          200: z
            .string()
            .meta({ description: "Binary: a BBDELT file or a DeltaChain message.", format: "binary" }),
          ...errorResponses(400, 404),
        },
      },
    },
    async (request, reply) => {
      const to = request.params.n;
      const from = request.query.from ?? to - 1;
      if (from >= to || to - from > MAX_DIAGNOSTIC_CHAIN) {
        throw new AppError(
          "VALIDATION_FAILED",
          `invalid request: query.from: must be below n and at most ${MAX_DIAGNOSTIC_CHAIN} versions back`,
          {
            fieldErrors: [
              {
                path: "query.from",
                message: `must be below n and at most ${MAX_DIAGNOSTIC_CHAIN} versions back`,
              },
            ],
          },
        );
      }
      const steps = await getDeltaRange(app.database.sql, from, to);
      const complete =
        steps.length === to - from &&
        steps.every((step, index) => step.versionNumber === from + 1 + index && step.delta);
      if (!complete) throw new AppError("NOT_FOUND", `no delta chain from version ${from} to ${to}`);
      const deltas = steps.map((step) => step.delta as Uint8Array);
      const single = deltas.length === 1;
      const bytes = single
        ? (deltas[0] as Uint8Array)
        : encodeMessage(DeltaChainSchema, { deltas, toVersion: to }, { maxBytes: 64 * 1024 * 1024 });
      reply
        .header("cache-control", "public, max-age=86400, immutable")
        .header("content-type", single ? "application/octet-stream" : PROTOBUF_CONTENT_TYPE);
      // A Buffer bypasses the JSON serializer; the response schema only documents the route.
      return reply.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as unknown as string);
    },
  );
};

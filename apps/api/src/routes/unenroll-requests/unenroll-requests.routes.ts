/**
 * /api/v1/unenroll-requests and /api/v1/config-change-requests: the requests I filed or must decide, and
 * their transitions (approve, deny, cancel). Both kinds follow one state machine (unenroll.service.ts); the
 * server clock decides whether a self-tier delay has passed. A request the caller may not see answers 404.
 */
import { unenrollRequestStatusSchema } from "@betblocker/common/enums";
import type { UnenrollService } from "@betblocker/core/enrollments/unenroll.service";
import type { RequestKind } from "@betblocker/db/repositories/unenroll-request.repository";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { errorResponses } from "../../http/responses";
import {
  emptyBodySchema,
  idParamsSchema,
  listQuerySchema,
  requestListSchema,
  requestSchema,
  toRequestResponse,
} from "../enrollments/enrollments.schema";

export interface UnenrollRequestRoutesOptions {
  unenrollService: UnenrollService;
}

const requestListQuerySchema = listQuerySchema.extend({ status: unenrollRequestStatusSchema.optional() });

const KINDS: ReadonlyArray<{ kind: RequestKind; path: string; noun: string }> = [
  { kind: "unenroll", path: "/unenroll-requests", noun: "unenroll request" },
  { kind: "config_change", path: "/config-change-requests", noun: "configuration change request" },
];

const ACTIONS = {
  approve: {
    summary: (noun: string) => `Approve a ${noun}, or complete a self-tier one after its delay`,
    description:
      "partner tier: the partner; authority tier: any admin of the enrollment's organization. self tier: the " +
      "requester completes the request once delay_until has passed (409 DELAY_NOT_ELAPSED before; the " +
      "worker also completes due requests on its own).",
  },
  deny: {
    summary: (noun: string) => `Deny a ${noun}`,
    description:
      "partner tier: the partner; authority tier: any admin of the organization. Not for self tier.",
  },
  cancel: {
    summary: (noun: string) => `Withdraw my ${noun}`,
    description: "The requester only. A self-tier unenrollment then returns the enrollment to 'active'.",
  },
} as const;

export const unenrollRequestRoutes: FastifyPluginAsyncZod<UnenrollRequestRoutesOptions> = async (
  app,
  { unenrollService },
) => {
  app.addHook("onSend", async (_request, reply) => {
    reply.header("cache-control", "private, no-store");
  });

  for (const { kind, path, noun } of KINDS) {
    app.get(
      path,
      {
        config: { auth: true },
        schema: {
          tags: ["unenroll-requests"],
          summary: `${noun[0]?.toUpperCase()}${noun.slice(1)}s I filed or must decide, newest first`,
          querystring: requestListQuerySchema,
          response: { 200: requestListSchema, ...errorResponses(400, 401) },
        },
      },
      async (request) => {
        const { limit, cursor, status } = request.query;
        const page = await request.withActor((tx, account) =>
          unenrollService.list(tx, account, kind, {
            limit,
            ...(cursor !== undefined ? { cursor } : {}),
            ...(status !== undefined ? { status } : {}),
          }),
        );
        return { items: page.items.map(toRequestResponse), next_cursor: page.nextCursor };
      },
    );

    for (const action of ["approve", "deny", "cancel"] as const) {
      app.post(
        `${path}/:id/${action}`,
        {
          config: { auth: true },
          schema: {
            tags: ["unenroll-requests"],
            summary: ACTIONS[action].summary(noun),
            description: ACTIONS[action].description,
            params: idParamsSchema,
            body: emptyBodySchema,
            response: { 200: requestSchema, ...errorResponses(400, 401, 403, 404, 409) },
          },
        },
        async (request) => {
          const view = await request.withActor((tx, account) =>
            unenrollService[action](tx, account, kind, request.params.id),
          );
          return toRequestResponse(view);
        },
      );
    }
  }
};

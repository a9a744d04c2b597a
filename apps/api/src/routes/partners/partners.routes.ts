/**
 * /api/v1/partners: invite an accountability partner by e-mail address, list partnerships in both
 * directions, accept (the invited party only), revoke (either party), accept by the mailed token.
 * Inviting answers the same whether or not the address has an account.
 */
import type { ApiConfig } from "@betblocker/core/config/config";
import type { PartnerService } from "@betblocker/core/partners/partner.service";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { errorResponses } from "../../http/responses";
import { emptyBodySchema, idParamsSchema } from "../enrollments/enrollments.schema";
import {
  acceptTokenBodySchema,
  invitePartnerBodySchema,
  invitePartnerResponseSchema,
  partnerListSchema,
  partnerSchema,
  toPartnerResponse,
} from "./partners.schema";

export interface PartnerRoutesOptions {
  partnerService: PartnerService;
  config: ApiConfig;
}

export const partnerRoutes: FastifyPluginAsyncZod<PartnerRoutesOptions> = async (
  app,
  { partnerService, config },
) => {
  app.addHook("onSend", async (_request, reply) => {
    reply.header("cache-control", "private, no-store");
  });

  app.post(
    "/",
    {
      // Every invitation sends a mail: limited like registration, per client IP.
      config: { auth: true, rateLimit: { name: "partner-invite", ...config.rateLimits.registerPerIp } },
      schema: {
        tags: ["partners"],
        summary: "Invite someone to be my accountability partner",
        description:
          "The invitation is mailed to the address and expires (7 days). The answer is the same whether or not " +
          "the address has an account; the partner's account is shown once they accept.",
        body: invitePartnerBodySchema,
        response: { 201: invitePartnerResponseSchema, ...errorResponses(400, 401, 409, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const result = await request.withActor((tx, account) =>
        partnerService.invite(tx, account, request.body.email),
      );
      reply.status(201);
      return {
        ...toPartnerResponse(result.partner),
        ...(config.exposeDevTokens ? { dev_invitation_token: result.invitationToken } : {}),
      };
    },
  );

  app.get(
    "/",
    {
      config: { auth: true },
      schema: {
        tags: ["partners"],
        summary: "My partnerships, both directions, newest first",
        response: { 200: partnerListSchema, ...errorResponses(401) },
      },
    },
    async (request) => {
      const items = await request.withActor((tx, account) => partnerService.list(tx, account));
      return { items: items.map(toPartnerResponse) };
    },
  );

  app.post(
    "/invitations/accept",
    {
      config: { auth: true, rateLimit: { name: "partner-token", ...config.rateLimits.tokenRequestsPerIp } },
      schema: {
        tags: ["partners"],
        summary: "Accept a partner invitation with the token from its mail",
        body: acceptTokenBodySchema,
        response: { 200: partnerSchema, ...errorResponses(400, 401, 409, 413, 415, 429) },
      },
    },
    async (request) => {
      const view = await request.withActor((tx, account) =>
        partnerService.acceptToken(tx, account, request.body.token),
      );
      return toPartnerResponse(view);
    },
  );

  app.post(
    "/:id/accept",
    {
      config: { auth: true },
      schema: {
        tags: ["partners"],
        summary: "Accept an invitation addressed to me (the invited party only)",
        params: idParamsSchema,
        body: emptyBodySchema,
        response: { 200: partnerSchema, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const view = await request.withActor((tx, account) =>
        partnerService.accept(tx, account, request.params.id),
      );
      return toPartnerResponse(view);
    },
  );

  app.post(
    "/:id/revoke",
    {
      config: { auth: true },
      schema: {
        tags: ["partners"],
        summary: "End a partnership or withdraw an invitation (either party)",
        description:
          "Partner-tier enrollments made under the partnership continue: the partner still decides their " +
          "unenrollment.",
        params: idParamsSchema,
        body: emptyBodySchema,
        response: { 200: partnerSchema, ...errorResponses(400, 401, 404, 409) },
      },
    },
    async (request) => {
      const view = await request.withActor((tx, account) =>
        partnerService.revoke(tx, account, request.params.id),
      );
      return toPartnerResponse(view);
    },
  );
};

/**
 * /api/v1/organizations: create (the creator becomes admin), list mine, read, members, invitations by
 * e-mail address (admins), role changes and removal (admins; a member may leave), and my invitations.
 * Non-members get 404 for an organization, as if it did not exist; members who are not admins get 403 for
 * managing it.
 */
import type { ApiConfig } from "@betblocker/core/config/config";
import type { OrganizationService } from "@betblocker/core/organizations/organization.service";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { errorResponses } from "../../http/responses";
import { emptyBodySchema, idParamsSchema } from "../enrollments/enrollments.schema";
import {
  acceptTokenBodySchema,
  changeRoleBodySchema,
  createOrganizationBodySchema,
  inviteMemberBodySchema,
  inviteMemberResponseSchema,
  memberParamsSchema,
  memberSchema,
  membersResponseSchema,
  myInvitationListSchema,
  organizationListSchema,
  organizationSchema,
  toInvitationResponse,
  toMemberResponse,
  toMyInvitationResponse,
  toOrganizationResponse,
} from "./organizations.schema";

export interface OrganizationRoutesOptions {
  organizationService: OrganizationService;
  config: ApiConfig;
}

export const organizationRoutes: FastifyPluginAsyncZod<OrganizationRoutesOptions> = async (
  app,
  { organizationService, config },
) => {
  app.addHook("onSend", async (_request, reply) => {
    reply.header("cache-control", "private, no-store");
  });

  app.post(
    "/",
    {
      config: { auth: true },
      schema: {
        tags: ["organizations"],
        summary: "Create an organization (I become its admin)",
        body: createOrganizationBodySchema,
        response: { 201: organizationSchema, ...errorResponses(400, 401, 403, 413, 415) },
      },
    },
    async (request, reply) => {
      const view = await request.withActor((tx, account) =>
        organizationService.create(tx, account, request.body),
      );
      reply.status(201);
      return toOrganizationResponse(view);
    },
  );

  app.get(
    "/",
    {
      config: { auth: true },
      schema: {
        tags: ["organizations"],
        summary: "Organizations I am a member of",
        response: { 200: organizationListSchema, ...errorResponses(401) },
      },
    },
    async (request) => {
      const items = await request.withActor((tx, account) => organizationService.list(tx, account));
      return { items: items.map(toOrganizationResponse) };
    },
  );

  app.get(
    "/invitations",
    {
      config: { auth: true },
      schema: {
        tags: ["organizations"],
        summary: "Pending invitations addressed to my (verified) e-mail address",
        response: { 200: myInvitationListSchema, ...errorResponses(401) },
      },
    },
    async (request) => {
      const items = await request.withActor((tx, account) =>
        organizationService.listMyInvitations(tx, account),
      );
      return { items: items.map(toMyInvitationResponse) };
    },
  );

  app.post(
    "/invitations/accept",
    {
      config: {
        auth: true,
        rateLimit: { name: "organization-token", ...config.rateLimits.tokenRequestsPerIp },
      },
      schema: {
        tags: ["organizations"],
        summary: "Join an organization with the token from its invitation mail",
        body: acceptTokenBodySchema,
        response: { 200: organizationSchema, ...errorResponses(400, 401, 413, 415, 429) },
      },
    },
    async (request) => {
      const view = await request.withActor((tx, account) =>
        organizationService.acceptInvitation(tx, account, { token: request.body.token }),
      );
      return toOrganizationResponse(view);
    },
  );

  app.post(
    "/invitations/:id/accept",
    {
      config: { auth: true },
      schema: {
        tags: ["organizations"],
        summary: "Join an organization by an invitation addressed to my verified address",
        params: idParamsSchema,
        body: emptyBodySchema,
        response: { 200: organizationSchema, ...errorResponses(400, 401, 404, 409) },
      },
    },
    async (request) => {
      const view = await request.withActor((tx, account) =>
        organizationService.acceptInvitation(tx, account, { invitationPublicId: request.params.id }),
      );
      return toOrganizationResponse(view);
    },
  );

  app.get(
    "/:id",
    {
      config: { auth: true },
      schema: {
        tags: ["organizations"],
        summary: "One organization I am a member of",
        params: idParamsSchema,
        response: { 200: organizationSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const view = await request.withActor((tx, account) =>
        organizationService.get(tx, account, request.params.id),
      );
      return toOrganizationResponse(view);
    },
  );

  app.get(
    "/:id/members",
    {
      config: { auth: true },
      schema: {
        tags: ["organizations"],
        summary: "Members (and, for admins, pending invitations)",
        params: idParamsSchema,
        response: { 200: membersResponseSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const result = await request.withActor((tx, account) =>
        organizationService.listMembers(tx, account, request.params.id),
      );
      return {
        members: result.members.map(toMemberResponse),
        invitations: result.invitations.map(toInvitationResponse),
      };
    },
  );

  app.post(
    "/:id/members",
    {
      // Every invitation sends a mail: limited like registration, per client IP.
      config: { auth: true, rateLimit: { name: "organization-invite", ...config.rateLimits.registerPerIp } },
      schema: {
        tags: ["organizations"],
        summary: "Invite someone by e-mail address (admins)",
        description:
          "The invitee joins by accepting; the answer does not say whether the address has an account.",
        params: idParamsSchema,
        body: inviteMemberBodySchema,
        response: {
          201: inviteMemberResponseSchema,
          ...errorResponses(400, 401, 403, 404, 409, 413, 415, 429),
        },
      },
    },
    async (request, reply) => {
      const result = await request.withActor((tx, account) =>
        organizationService.inviteMember(tx, account, request.params.id, request.body),
      );
      reply.status(201);
      return {
        ...toInvitationResponse(result.invitation),
        ...(config.exposeDevTokens ? { dev_invitation_token: result.invitationToken } : {}),
      };
    },
  );

  app.patch(
    "/:id/members/:accountId",
    {
      config: { auth: true },
      schema: {
        tags: ["organizations"],
        summary: "Change a member's role (admins; an organization keeps at least one admin)",
        params: memberParamsSchema,
        body: changeRoleBodySchema,
        response: { 200: memberSchema, ...errorResponses(400, 401, 403, 404, 409, 413, 415) },
      },
    },
    async (request) => {
      const view = await request.withActor((tx, account) =>
        organizationService.changeRole(
          tx,
          account,
          request.params.id,
          request.params.accountId,
          request.body.role,
        ),
      );
      return toMemberResponse(view);
    },
  );

  app.delete(
    "/:id/members/:accountId",
    {
      config: { auth: true },
      schema: {
        tags: ["organizations"],
        summary: "Remove a member (admins) or leave (myself)",
        description: "Enrollments the organization made stay under its authority.",
        params: memberParamsSchema,
        response: {
          204: z.undefined().meta({ description: "Removed" }),
          ...errorResponses(400, 401, 403, 404, 409),
        },
      },
    },
    async (request, reply) => {
      await request.withActor((tx, account) =>
        organizationService.removeMember(tx, account, request.params.id, request.params.accountId),
      );
      reply.status(204).send();
    },
  );
};

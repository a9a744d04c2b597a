/**
 * /api/v1/enrollments: create, list, read and change enrollments; file unenroll requests; list an
 * enrollment's requests. Thin: validate, call the services in one transaction as the caller, shape the
 * response. An enrollment the caller may not see answers 404, like one that does not exist.
 */
import type { EnrollmentService } from "@betblocker/core/enrollments/enrollment.service";
import type { UnenrollService } from "@betblocker/core/enrollments/unenroll.service";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { errorResponses } from "../../http/responses";
import {
  createEnrollmentBodySchema,
  emptyBodySchema,
  enrollmentListSchema,
  enrollmentSchema,
  idParamsSchema,
  listQuerySchema,
  requestListSchema,
  requestSchema,
  toChangeResponse,
  toEnrollmentResponse,
  toRequestResponse,
  updateEnrollmentBodySchema,
  updateEnrollmentResponseSchema,
} from "./enrollments.schema";

export interface EnrollmentRoutesOptions {
  enrollmentService: EnrollmentService;
  unenrollService: UnenrollService;
}

export const enrollmentRoutes: FastifyPluginAsyncZod<EnrollmentRoutesOptions> = async (
  app,
  { enrollmentService, unenrollService },
) => {
  app.addHook("onSend", async (_request, reply) => {
    reply.header("cache-control", "private, no-store");
  });

  app.post(
    "/",
    {
      config: { auth: true },
      schema: {
        tags: ["enrollments"],
        summary: "Put a device under protection",
        description:
          "self: by the device owner. partner: by the owner naming an active accountability partner " +
          "(partner_account_id), or by that partner for the owner's device; the partner is enrolled_by. " +
          "authority: by an admin of a court or therapy organization for a device whose owner is a member. " +
          "A device has at most one enrollment that has not ended (409).",
        body: createEnrollmentBodySchema,
        response: { 201: enrollmentSchema, ...errorResponses(400, 401, 403, 404, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const view = await request.withActor((tx, account) =>
        enrollmentService.create(tx, account, {
          devicePublicId: body.device_id,
          tier: body.tier,
          partnerAccountPublicId: body.partner_account_id ?? null,
          organizationPublicId: body.organization_id ?? null,
          protectionConfig: body.protection_config,
          reportingConfig: body.reporting_config,
          unenrollmentPolicy: body.unenrollment_policy,
        }),
      );
      reply.status(201);
      return toEnrollmentResponse(view);
    },
  );

  app.get(
    "/",
    {
      config: { auth: true },
      schema: {
        tags: ["enrollments"],
        summary:
          "Enrollments I take part in (device owner, enrolled by me, or my organization's), newest first",
        querystring: listQuerySchema,
        response: { 200: enrollmentListSchema, ...errorResponses(400, 401) },
      },
    },
    async (request) => {
      const page = await request.withActor((tx, account) =>
        enrollmentService.list(tx, account, {
          limit: request.query.limit,
          ...(request.query.cursor !== undefined ? { cursor: request.query.cursor } : {}),
        }),
      );
      return { items: page.items.map(toEnrollmentResponse), next_cursor: page.nextCursor };
    },
  );

  app.get(
    "/:id",
    {
      config: { auth: true },
      schema: {
        tags: ["enrollments"],
        summary: "One enrollment",
        params: idParamsSchema,
        response: { 200: enrollmentSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const view = await request.withActor((tx, account) =>
        enrollmentService.get(tx, account, request.params.id),
      );
      return toEnrollmentResponse(view);
    },
  );

  app.patch(
    "/:id",
    {
      config: { auth: true },
      schema: {
        tags: ["enrollments"],
        summary: "Change an enrollment's configuration",
        description:
          "Each changed field tightens, loosens or is neutral (table in the API README). Tightening and neutral " +
          "changes apply at once; loosening by the device owner becomes a pending configuration change " +
          "request with the same approval as unenrolling (self tier: the cooling-off delay). The partner or " +
          "the organization's admins loosen at once. Every applied field writes a config_change event.",
        params: idParamsSchema,
        body: updateEnrollmentBodySchema,
        response: {
          200: updateEnrollmentResponseSchema,
          ...errorResponses(400, 401, 403, 404, 409, 413, 415),
        },
      },
    },
    async (request) => {
      const body = request.body;
      const result = await request.withActor((tx, account) =>
        enrollmentService.update(tx, account, request.params.id, {
          ...(body.protection_config !== undefined ? { protectionConfig: body.protection_config } : {}),
          ...(body.reporting_config !== undefined ? { reportingConfig: body.reporting_config } : {}),
          ...(body.unenrollment_policy !== undefined ? { unenrollmentPolicy: body.unenrollment_policy } : {}),
        }),
      );
      return {
        enrollment: toEnrollmentResponse(result.enrollment),
        applied_changes: result.applied.map(toChangeResponse),
        pending_change_request: result.pendingChangeRequest
          ? toRequestResponse(result.pendingChangeRequest)
          : null,
      };
    },
  );

  app.post(
    "/:id/unenroll-requests",
    {
      config: { auth: true },
      schema: {
        tags: ["enrollments"],
        summary: "Ask to end the enrollment (device owner)",
        description:
          "self: takes effect after unenrollment_policy.delay_hours (the enrollment is 'unenrolling' meanwhile; " +
          "cancel to stay protected). partner: the partner approves or denies. authority: an admin of the " +
          "organization decides; 403 UNENROLL_NOT_ALLOWED when user_can_request is false. Every tier: 403 " +
          "UNENROLL_NOT_ALLOWED before minimum_enrollment_days (details.possible_from). One pending request " +
          "per enrollment (409).",
        params: idParamsSchema,
        body: emptyBodySchema,
        response: { 201: requestSchema, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const view = await request.withActor((tx, account) =>
        unenrollService.requestUnenroll(tx, account, request.params.id),
      );
      reply.status(201);
      return toRequestResponse(view);
    },
  );

  app.get(
    "/:id/unenroll-requests",
    {
      config: { auth: true },
      schema: {
        tags: ["enrollments"],
        summary: "The enrollment's unenroll requests, newest first",
        params: idParamsSchema,
        response: { 200: requestListSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const items = await request.withActor((tx, account) =>
        unenrollService.listForEnrollment(tx, account, "unenroll", request.params.id),
      );
      return { items: items.map(toRequestResponse), next_cursor: null };
    },
  );

  app.get(
    "/:id/config-change-requests",
    {
      config: { auth: true },
      schema: {
        tags: ["enrollments"],
        summary: "The enrollment's configuration change requests, newest first",
        params: idParamsSchema,
        response: { 200: requestListSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const items = await request.withActor((tx, account) =>
        unenrollService.listForEnrollment(tx, account, "config_change", request.params.id),
      );
      return { items: items.map(toRequestResponse), next_cursor: null };
    },
  );
};

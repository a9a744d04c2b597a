/**
 * /api/v1/devices: the owner side of devices (bearer token; every query runs as the caller under row-level
 * security). A device id that is unknown or belongs to another tenant answers 404 NOT_FOUND either way.
 */
import { AppError } from "@betblocker/common/errors/app-error";
import type { DevicesService } from "@betblocker/core/devices/devices.service";
import { formatEnrollmentCode } from "@betblocker/core/devices/enrollment-code";
import type { DevicePageCursor } from "@betblocker/db/repositories/device.repository";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { errorResponses } from "../../http/responses";
import {
  deviceListQuerySchema,
  deviceListResponseSchema,
  deviceParamsSchema,
  deviceSchema,
  enrollmentCodeBodySchema,
  enrollmentCodeResponseSchema,
  revokeBodySchema,
  revokeResponseSchema,
  toDeviceResponse,
} from "./devices.schema";

export interface DevicesRoutesOptions {
  devices: DevicesService;
}

const CURSOR_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeDeviceCursor(cursor: DevicePageCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.publicId])).toString("base64url");
}

export function decodeDeviceCursor(text: string): DevicePageCursor {
  try {
    const value = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(value) && value.length === 2) {
      const [createdAt, publicId] = value as unknown[];
      if (
        typeof createdAt === "string" &&
        CURSOR_TIME.test(createdAt) &&
        typeof publicId === "string" &&
        UUID.test(publicId)
      ) {
        return { createdAt, publicId };
      }
    }
  } catch {
    // Falls through to the validation error.
  }
  throw new AppError("VALIDATION_FAILED", "invalid request: query.cursor: not a cursor this API issued", {
    fieldErrors: [{ path: "query.cursor", message: "not a cursor this API issued" }],
  });
}

export const devicesRoutes: FastifyPluginAsyncZod<DevicesRoutesOptions> = async (app, { devices }) => {
  app.addHook("onSend", async (_request, reply) => {
    reply.header("cache-control", "no-store");
  });

  app.post(
    "/enrollment-codes",
    {
      config: { auth: true },
      schema: {
        tags: ["devices"],
        summary: "Create a one-time code to register a device",
        description:
          "The agent redeems the code once at POST /api/v1/device/register (device listener) to become a device of " +
          "the caller. Codes expire after api.devices.enrollment_code_ttl_minutes (default 15). Limited per account " +
          "(429 with Retry-After).",
        body: enrollmentCodeBodySchema,
        response: { 201: enrollmentCodeResponseSchema, ...errorResponses(400, 401, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const created = await devices.createEnrollmentCode(
        request.withActor.bind(request),
        request.actor!.accountId,
      );
      reply.status(201);
      return {
        code: created.code,
        display_code: formatEnrollmentCode(created.code),
        expires_at: created.expiresAt.toISOString(),
      };
    },
  );

  app.get(
    "/",
    {
      config: { auth: true },
      schema: {
        tags: ["devices"],
        summary: "The caller's devices, newest first",
        querystring: deviceListQuerySchema,
        response: { 200: deviceListResponseSchema, ...errorResponses(400, 401) },
      },
    },
    async (request) => {
      const page = await devices.list(request.withActor.bind(request), {
        limit: request.query.limit,
        after: request.query.cursor ? decodeDeviceCursor(request.query.cursor) : null,
      });
      return {
        items: page.items.map(toDeviceResponse),
        next_cursor: page.next ? encodeDeviceCursor(page.next) : null,
      };
    },
  );

  app.get(
    "/:id",
    {
      config: { auth: true },
      schema: {
        tags: ["devices"],
        summary: "One device the caller owns (or holds an active enrollment on)",
        params: deviceParamsSchema,
        response: { 200: deviceSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) =>
      toDeviceResponse(await devices.get(request.withActor.bind(request), request.params.id)),
  );

  app.post(
    "/:id/revoke",
    {
      config: { auth: true },
      schema: {
        tags: ["devices"],
        summary: "Revoke all of the device's certificates and disable it",
        description:
          "The agent's next request is refused (401). Only the owner (or an admin) may revoke, and only while no " +
          "enrollment binds the device (active, suspended, unenrolling: 403 UNENROLL_NOT_ALLOWED; unenroll first). " +
          "Recorded in the audit trail.",
        params: deviceParamsSchema,
        body: revokeBodySchema,
        response: { 200: revokeResponseSchema, ...errorResponses(400, 401, 403, 404, 413, 415) },
      },
    },
    async (request) => {
      const result = await devices.revoke(request.withActor.bind(request), request.params.id);
      request.log.info(
        { deviceId: result.device.publicId, revoked: result.revokedCertificates },
        "device revoked",
      );
      return { device: toDeviceResponse(result.device), revoked_certificates: result.revokedCertificates };
    },
  );
};

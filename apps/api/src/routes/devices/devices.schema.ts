/** Request and response schemas of /api/v1/devices (owner side). Only these fields ever leave the API. */
import type { DeviceRecord } from "@betblocker/db/repositories/device.repository";
import { z } from "zod";

export const deviceSchema = z
  .object({
    id: z.uuid().meta({ description: "Public id of the device (also its certificate's subject CN)." }),
    owned: z.boolean().meta({
      description: "The caller owns the device (false: the caller sees it through an active enrollment).",
    }),
    platform: z.enum(["windows", "macos", "linux", "android", "ios"]),
    os_version: z.string().nullable(),
    agent_version: z.string().nullable(),
    hostname: z.string().nullable(),
    status: z.enum(["pending", "active", "stale", "disabled", "decommissioned"]).meta({
      description: "pending until the agent's first heartbeat; disabled after revocation.",
    }),
    last_heartbeat: z.iso.datetime({ offset: true }).nullable().meta({
      description:
        "Lags the newest heartbeat by at most the flush interval (api.devices.heartbeat_flush_interval_ms).",
    }),
    certificate_expires_at: z.iso.datetime({ offset: true }).nullable().meta({
      description: "Latest expiry among the device's unrevoked certificates; null when it has none.",
    }),
    created_at: z.iso.datetime({ offset: true }),
    updated_at: z.iso.datetime({ offset: true }),
  })
  .meta({ id: "Device" });

export type DeviceResponse = z.infer<typeof deviceSchema>;

export function toDeviceResponse(device: DeviceRecord): DeviceResponse {
  return {
    id: device.publicId,
    owned: device.owned,
    platform: device.platform,
    os_version: device.osVersion,
    agent_version: device.agentVersion,
    hostname: device.hostname,
    status: device.status,
    last_heartbeat: device.lastHeartbeat?.toISOString() ?? null,
    certificate_expires_at: device.certificateExpiresAt?.toISOString() ?? null,
    created_at: device.createdAt.toISOString(),
    updated_at: device.updatedAt.toISOString(),
  };
}

export const enrollmentCodeBodySchema = z.strictObject({}).optional();

export const enrollmentCodeResponseSchema = z
  .object({
    code: z.string().meta({
      description:
        "The one-time code (10 characters of 2-9 and A-Z without I and O). Shown once, stored only as SHA-256.",
    }),
    display_code: z.string().meta({ description: 'The code as shown to people: "XXXXX-XXXXX".' }),
    expires_at: z.iso.datetime({ offset: true }),
  })
  .meta({ id: "DeviceEnrollmentCode" });

export const deviceListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(200).optional().meta({ description: "next_cursor of the previous page." }),
});

export const deviceListResponseSchema = z
  .object({
    items: z.array(deviceSchema),
    next_cursor: z
      .string()
      .nullable()
      .meta({ description: "Pass as `cursor` for the next page; null on the last." }),
  })
  .meta({ id: "DeviceList" });

export const deviceParamsSchema = z.strictObject({
  id: z.string().max(100).meta({ description: "Public id (UUID) of the device." }),
});

export const revokeBodySchema = z.strictObject({}).optional();

export const revokeResponseSchema = z
  .object({
    device: deviceSchema,
    revoked_certificates: z.int().meta({ description: "Certificates revoked by this call." }),
  })
  .meta({ id: "DeviceRevocation" });

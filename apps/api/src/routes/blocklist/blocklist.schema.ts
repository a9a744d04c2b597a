/** Schemas of /api/v1/blocklist (public) and POST /api/v1/admin/blocklist/publish. */
import type { VersionSummary } from "@betblocker/db/repositories/blocklist-version.repository";
import { z } from "zod";

export const versionSchema = z
  .object({
    version: z.int(),
    published_at: z.iso.datetime({ offset: true }),
    entry_count: z.int(),
    snapshot_sha256: z.string().nullable().meta({ description: "SHA-256 of the signed list file, hex." }),
    snapshot_bytes: z.int().nullable(),
    delta_bytes: z
      .int()
      .nullable()
      .meta({ description: "Size of the signed delta from the previous version; null when none." }),
    format_version: z.int().nullable(),
    signing_key_id: z
      .string()
      .nullable()
      .meta({ description: "Id of the Ed25519 signing key (8 bytes, hex)." }),
  })
  .meta({ id: "BlocklistVersion" });

export function toVersionResponse(version: VersionSummary): z.infer<typeof versionSchema> {
  return {
    version: version.versionNumber,
    published_at: version.publishedAt.toISOString(),
    entry_count: version.entryCount,
    snapshot_sha256: version.snapshotSha256?.toString("hex") ?? null,
    snapshot_bytes: version.snapshotBytes,
    delta_bytes: version.deltaBytes,
    format_version: version.formatVersion,
    signing_key_id: version.signingKeyId?.toString("hex") ?? null,
  };
}

export const versionListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,9}$/, "not a cursor this API issued")
    .optional()
    .meta({ description: "next_cursor of the previous page." }),
});

export const versionListResponseSchema = z
  .object({ items: z.array(versionSchema), next_cursor: z.string().nullable() })
  .meta({ id: "BlocklistVersionList" });

export const deltaParamsSchema = z.strictObject({
  n: z.coerce
    .number()
    .int()
    .min(2)
    .max(2_147_483_647)
    .meta({ description: "The version the delta leads to." }),
});

export const deltaQuerySchema = z.strictObject({
  from: z.coerce
    .number()
    .int()
    .min(1)
    .max(2_147_483_647)
    .optional()
    .meta({ description: "The version the delta starts from; default n-1." }),
});

export const publishBodySchema = z
  .strictObject({
    only_if_changed: z
      .boolean()
      .optional()
      .meta({ description: "Publish nothing when the rule set equals the latest version's. Default false." }),
  })
  .optional();

export const publishResponseSchema = z
  .object({
    published: z.boolean(),
    version: z.int(),
    entry_count: z.int(),
    snapshot_bytes: z.int(),
    delta_bytes: z.int().nullable(),
    compile_ms: z.int(),
  })
  .meta({ id: "BlocklistPublication" });

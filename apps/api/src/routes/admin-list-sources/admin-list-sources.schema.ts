/** Request and response schemas of /api/v1/admin/list-sources. Request bodies are strict: unknown fields are a 400. */

import { isAbsolute } from "node:path";
import { LIST_FORMAT_VALUES } from "@betblocker/common/lists/index";
import { categoryInputSchema } from "@betblocker/core/admin/blocklist-admin.service";
import type { SourceImportResult } from "@betblocker/core/list-sources/import-sources.service";
import { LIST_SOURCE_NAME_PATTERN } from "@betblocker/core/list-sources/list-source.service";
import type { ListSourceRow } from "@betblocker/db/repositories/list-source.repository";
import { z } from "zod";

const dateTime = z.iso.datetime({ offset: true });

export const listFormatSchema = z.enum(LIST_FORMAT_VALUES).meta({
  description: "csv (domain,category), domains (one per line), hosts (0.0.0.0 name), adblock (||name^).",
});

/** A source name as the CLI uses it: lower-cased, then 1-100 of a-z 0-9 . _ - starting with a letter or digit. */
export const listSourceNameSchema = z
  .string()
  .max(100)
  .transform((value) => value.trim().toLowerCase())
  .pipe(
    z
      .string()
      .regex(
        LIST_SOURCE_NAME_PATTERN,
        "1-100 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit",
      ),
  );

/** http(s) URL, or an absolute path of a file on the server. */
export const listLocationSchema = z
  .string()
  .max(2000)
  .transform((value, context) => {
    const location = value.trim();
    if (/^https?:\/\//i.test(location)) {
      try {
        const url = new URL(location);
        if (url.hostname === "") throw new Error("no host");
        return location;
      } catch {
        context.addIssue({ code: "custom", message: "not a valid http(s) URL" });
        return z.NEVER;
      }
    }
    if (/^[a-z][a-z0-9+.-]*:/i.test(location) && !isAbsolute(location)) {
      context.addIssue({ code: "custom", message: "only http and https URLs (or an absolute file path)" });
      return z.NEVER;
    }
    if (!isAbsolute(location)) {
      context.addIssue({ code: "custom", message: "must be an http(s) URL or an absolute file path" });
      return z.NEVER;
    }
    return location;
  });

const licenseSchema = z.string().trim().max(200).meta({ description: "SPDX id or free text, e.g. MIT." });

export const listSourceSchema = z
  .object({
    name: z.string(),
    location: z.string().meta({ description: "http(s) URL or absolute file path." }),
    format: listFormatSchema,
    license: z.string().nullable(),
    category: z.string().nullable().meta({ description: "Category of entries whose line carries none." }),
    enabled: z.boolean(),
    last_fetch_at: dateTime.nullable().meta({ description: "Last attempt; null: never fetched." }),
    last_status: z.enum(["ok", "not_modified", "error"]).nullable(),
    last_error: z.string().nullable(),
    etag: z.string().nullable().meta({ description: "ETag of the last accepted list (conditional GET)." }),
    last_modified: z.string().nullable(),
    content_sha256: z.string().nullable().meta({ description: "Hex SHA-256 of the last accepted list." }),
    entries_count: z.int().meta({ description: "Entries in the last accepted list." }),
    consecutive_failures: z.int(),
    failing_since: dateTime.nullable(),
    created_at: dateTime,
    updated_at: dateTime,
  })
  .meta({ id: "ListSource" });

export function toListSourceResponse(source: ListSourceRow): z.infer<typeof listSourceSchema> {
  return {
    name: source.name,
    location: source.location,
    format: source.format,
    license: source.license,
    category: source.category,
    enabled: source.enabled,
    last_fetch_at: source.lastFetchAt?.toISOString() ?? null,
    last_status: source.lastStatus,
    last_error: source.lastError,
    etag: source.etag,
    last_modified: source.lastModified,
    content_sha256: source.contentSha256?.toString("hex") ?? null,
    entries_count: source.entriesCount,
    consecutive_failures: source.consecutiveFailures,
    failing_since: source.failingSince?.toISOString() ?? null,
    created_at: source.createdAt.toISOString(),
    updated_at: source.updatedAt.toISOString(),
  };
}

export const listSourceListResponseSchema = z.object({ items: z.array(listSourceSchema) });

export const listSourceParamsSchema = z.object({
  name: listSourceNameSchema.meta({ description: "The source's name (as in `betblocker sources`)." }),
});

export const createListSourceBodySchema = z.strictObject({
  name: listSourceNameSchema,
  location: listLocationSchema.meta({ description: "http(s) URL, or an absolute file path on the server." }),
  format: listFormatSchema,
  license: licenseSchema.nullish(),
  category: categoryInputSchema
    .nullish()
    .meta({ description: '"Sports Betting" is stored as "sports_betting".' }),
  enabled: z.boolean().default(true),
});

export const updateListSourceBodySchema = z
  .strictObject({
    enabled: z.boolean().optional(),
    license: licenseSchema.nullable().optional().meta({ description: "null removes it." }),
    category: categoryInputSchema.nullable().optional().meta({ description: "null removes it." }),
    format: listFormatSchema.optional(),
  })
  .refine((body) => Object.values(body).some((value) => value !== undefined), {
    message: "give enabled, license, category or format",
  });

export const deleteListSourceResponseSchema = z.object({
  name: z.string(),
  deactivated: z.int().meta({ description: "Entries only this source listed, now inactive." }),
});

export const fetchResultSchema = z
  .object({
    name: z.string(),
    status: z.enum(["ok", "not_modified", "error"]),
    error: z.string().nullable(),
    entries: z.int().meta({ description: "Entries in the fetched list (0 when not fetched or refused)." }),
    rejected: z.int().meta({ description: "Lines the parser rejected." }),
    diff: z
      .object({
        inserted: z.int(),
        reactivated: z.int(),
        added: z.int(),
        removed: z.int(),
        deactivated: z.int(),
      })
      .nullable(),
    alerted: z.boolean().meta({ description: "This failure raised the operator alert of a failure streak." }),
    duration_ms: z.int(),
    source: listSourceSchema,
  })
  .meta({ id: "ListSourceFetchResult" });

export function toFetchResultResponse(
  result: SourceImportResult,
  source: ListSourceRow,
): z.infer<typeof fetchResultSchema> {
  return {
    name: result.name,
    status: result.status,
    error: result.error,
    entries: result.entries,
    rejected: result.rejected,
    diff: result.diff ? { ...result.diff } : null,
    alerted: result.alerted,
    duration_ms: Math.round(result.durationMs),
    source: toListSourceResponse(source),
  };
}

/**
 * reporting_snapshots.summary (spec 003 section 9.5): the pre-aggregated daily summary of one
 * enrollment, written by the worker and read by the dashboards.
 *
 * Contract: strict, no defaults (the worker writes every field), counts are non-negative whole
 * numbers, and the counts agree with each other (checked below), so a dashboard never shows a
 * breakdown that does not add up. top_blocked_domains must be empty when the enrollment's
 * aggregation_level is "aggregated"; that depends on the enrollment, so the worker enforces it.
 */
import { z } from "zod";
import { categorySchema } from "../domain/category";
import { normalizedDomainSchema } from "../domain/domain.schema";
import { deviceStatusSchema } from "../enums";

/** The dashboard shows at most this many top domains; the worker keeps the list bounded. */
export const MAX_TOP_BLOCKED_DOMAINS = 100;

const countSchema = z.int({ error: "must be a whole number" }).min(0, { error: "must not be negative" });

export const topBlockedDomainSchema = z.strictObject({
  domain: normalizedDomainSchema,
  count: z.int({ error: "must be a whole number" }).positive({ error: "must be at least 1" }),
});

export const blocksByLayerSchema = z.strictObject({
  dns: countSchema,
  application: countSchema,
  browser: countSchema,
});

export const reportingSummarySchema = z
  .strictObject({
    total_blocks: countSchema,
    total_bypass_attempts: countSchema,
    total_tamper_events: countSchema,
    total_heartbeats: countSchema,
    missed_heartbeats: countSchema,
    top_blocked_domains: z
      .array(topBlockedDomainSchema)
      .max(MAX_TOP_BLOCKED_DOMAINS, { error: `must list at most ${MAX_TOP_BLOCKED_DOMAINS} domains` }),
    /** Blocks per blocklist category; blocks of uncategorized entries are not listed, so the sum may be below total_blocks. */
    blocks_by_category: z.record(categorySchema, countSchema),
    blocks_by_layer: blocksByLayerSchema,
    device_status_at_end_of_day: deviceStatusSchema,
  })
  .superRefine((summary, context) => {
    const { dns, application, browser } = summary.blocks_by_layer;
    // Every block happens in exactly one layer.
    if (dns + application + browser !== summary.total_blocks) {
      context.addIssue({
        code: "custom",
        path: ["blocks_by_layer"],
        message: `must add up to total_blocks (${summary.total_blocks}), not ${dns + application + browser}`,
      });
    }
    const categorized = Object.values(summary.blocks_by_category).reduce((sum, count) => sum + count, 0);
    if (categorized > summary.total_blocks) {
      context.addIssue({
        code: "custom",
        path: ["blocks_by_category"],
        message: `adds up to ${categorized}, more than total_blocks (${summary.total_blocks})`,
      });
    }
    const seenDomains = new Set<string>();
    let listedBlocks = 0;
    for (const [index, entry] of summary.top_blocked_domains.entries()) {
      if (seenDomains.has(entry.domain)) {
        context.addIssue({
          code: "custom",
          path: ["top_blocked_domains", index, "domain"],
          message: `lists ${entry.domain} more than once`,
        });
      }
      seenDomains.add(entry.domain);
      listedBlocks += entry.count;
    }
    if (listedBlocks > summary.total_blocks) {
      context.addIssue({
        code: "custom",
        path: ["top_blocked_domains"],
        message: `counts add up to ${listedBlocks}, more than total_blocks (${summary.total_blocks})`,
      });
    }
  });

export type ReportingSummary = z.output<typeof reportingSummarySchema>;

import { describe, expect, it } from "vitest";
import { type FieldError, formatZodError } from "./field-errors";
import { type ReportingSummary, reportingSummarySchema } from "./reporting-summary.schema";

function fieldErrorsFor(value: unknown): FieldError[] {
  const result = reportingSummarySchema.safeParse(value);
  if (result.success) throw new Error(`expected ${JSON.stringify(value)} to be rejected`);
  return formatZodError(result.error, { input: value });
}

// Spec 003 section 9.5's example.
const SPEC_EXAMPLE: ReportingSummary = {
  total_blocks: 47,
  total_bypass_attempts: 2,
  total_tamper_events: 0,
  total_heartbeats: 288,
  missed_heartbeats: 0,
  top_blocked_domains: [
    { domain: "example-casino.com", count: 23 },
    { domain: "sports-bet.net", count: 12 },
  ],
  blocks_by_category: { casino: 30, sports_betting: 15, lottery: 2 },
  blocks_by_layer: { dns: 45, application: 2, browser: 0 },
  device_status_at_end_of_day: "active",
};

describe("reporting_snapshots.summary schema", () => {
  it("accepts the spec's example unchanged", () => {
    expect(reportingSummarySchema.parse(SPEC_EXAMPLE)).toEqual(SPEC_EXAMPLE);
  });

  it("accepts an aggregated-level day: no domains, uncategorized blocks", () => {
    const summary = { ...SPEC_EXAMPLE, top_blocked_domains: [], blocks_by_category: { casino: 10 } };
    expect(reportingSummarySchema.parse(summary)).toEqual(summary);
  });

  it("rejects a wrong shape with errors naming the fields", () => {
    const { total_heartbeats: _omitted, ...withoutHeartbeats } = SPEC_EXAMPLE;
    expect(fieldErrorsFor({ ...withoutHeartbeats, top_blocked_domains: {}, missed_heartbeats: -1 })).toEqual([
      { path: "total_heartbeats", message: "required field is missing" },
      { path: "missed_heartbeats", message: "must not be negative" },
      { path: "top_blocked_domains", message: "Invalid input: expected array, received object" },
    ]);
    expect(fieldErrorsFor({ ...SPEC_EXAMPLE, device_status_at_end_of_day: "online" })[0]?.path).toBe(
      "device_status_at_end_of_day",
    );
    expect(fieldErrorsFor({ ...SPEC_EXAMPLE, blocks_by_layer: { dns: 47, vpn: 0 } })).toEqual([
      { path: "blocks_by_layer.application", message: "required field is missing" },
      { path: "blocks_by_layer.browser", message: "required field is missing" },
      { path: "blocks_by_layer.vpn", message: "unknown field" },
    ]);
  });

  it("requires normalized domains and categories", () => {
    expect(
      fieldErrorsFor({
        ...SPEC_EXAMPLE,
        top_blocked_domains: [{ domain: "Example-Casino.com.", count: 23 }],
      }),
    ).toEqual([
      {
        path: "top_blocked_domains[0].domain",
        message:
          'must be a normalized domain name (lower-case, punycode, no trailing dot): "example-casino.com"',
      },
    ]);
    expect(fieldErrorsFor({ ...SPEC_EXAMPLE, blocks_by_category: { "Sports Betting": 15 } })[0]?.path).toBe(
      'blocks_by_category["Sports Betting"]',
    );
  });

  it("requires the counts to agree with total_blocks", () => {
    expect(
      fieldErrorsFor({ ...SPEC_EXAMPLE, blocks_by_layer: { dns: 40, application: 2, browser: 0 } }),
    ).toEqual([{ path: "blocks_by_layer", message: "must add up to total_blocks (47), not 42" }]);
    expect(fieldErrorsFor({ ...SPEC_EXAMPLE, blocks_by_category: { casino: 48 } })).toEqual([
      { path: "blocks_by_category", message: "adds up to 48, more than total_blocks (47)" },
    ]);
    expect(
      fieldErrorsFor({
        ...SPEC_EXAMPLE,
        top_blocked_domains: [
          { domain: "a.com", count: 40 },
          { domain: "a.com", count: 8 },
        ],
      }),
    ).toEqual([
      { path: "top_blocked_domains[1].domain", message: "lists a.com more than once" },
      { path: "top_blocked_domains", message: "counts add up to 48, more than total_blocks (47)" },
    ]);
  });
});

/**
 * The reader-dependent privacy rules, without a database: who is a reader at all, which event kinds each
 * report_to_authority switch hides, what aggregation "aggregated" strips, and fail-closed configs.
 */
import type { ReportingSummary } from "@betblocker/common/config/reporting-summary.schema";
import { EVENT_TYPE_VALUES, type EventType } from "@betblocker/common/enums";
import { describe, expect, test } from "vitest";
import {
  AGGREGATED_METADATA_FIELDS,
  describeView,
  filterEventForReader,
  filterSummaryForReader,
  REPORT_CATEGORIES,
  REPORT_CATEGORY_BY_EVENT_TYPE,
  type ReaderView,
  type ReportCategory,
  readerViewFor,
  visibleEventTypes,
} from "./privacy";

const OWNER = 1;
const PARTNER = 2;
const STRANGER = 3;

function view(reader: number, reportingConfig: unknown, ownsDevice = reader === OWNER): ReaderView | null {
  return readerViewFor({
    readerAccountId: reader,
    readerOwnsDevice: ownsDevice,
    enrolledByAccountId: PARTNER,
    reportingConfig,
  });
}

const DETAILED = { aggregation_level: "detailed" };
const allOn = (level: "aggregated" | "detailed", off?: ReportCategory) => ({
  aggregation_level: level,
  report_to_authority: Object.fromEntries(REPORT_CATEGORIES.map((c) => [c, c !== off])),
});

const SUMMARY: ReportingSummary = {
  total_blocks: 5,
  total_bypass_attempts: 1,
  total_tamper_events: 2,
  total_heartbeats: 280,
  missed_heartbeats: 8,
  top_blocked_domains: [
    { domain: "casino.example", count: 3 },
    { domain: "bet.example", count: 1 },
  ],
  blocks_by_category: { casino: 3, sports_betting: 1 },
  blocks_by_layer: { dns: 4, application: 1, browser: 0 },
  device_status_at_end_of_day: "active",
};

const EVENTS: Record<EventType, Record<string, unknown>> = {
  block: { domain: "casino.example", category: "casino", layer: "dns", query_type: "A" },
  app_block: { application_id: "com.casino.app", application_name: "Casino", category: "casino" },
  install_block: { application_id: "com.bet.app", install_source: "play_store", category: "sports_betting" },
  bypass_attempt: { method: "doh_attempt", details: "DoH to dns.casino.example" },
  vpn_detected: {
    interface_name: "wg0",
    vpn_protocol: "wireguard",
    action_taken: "alert",
    details: "casino.example",
  },
  tamper: { type: "service_stopped", details: "stopped after visiting casino.example" },
  extension_removed: { browser: "firefox", extension_id: "ext@casino.example", details: "casino.example" },
  heartbeat: {
    agent_version: "1.2.3",
    blocklist_version: 4,
    uptime_seconds: 60,
    blocked_count_since_last: 2,
  },
  config_change: {
    field: "reporting_config.aggregation_level",
    old_value: "detailed",
    new_value: "aggregated",
    changed_by_account_id: 9,
  },
  unenroll: { stage: "requested", request_id: 4, actor_account_id: 1, delay_until: "2026-03-03T00:00:00Z" },
};

describe("readerViewFor", () => {
  test("the device owner is the owner, even when someone else enrolled the device, whatever the config", () => {
    expect(view(OWNER, { aggregation_level: "aggregated" })).toEqual({ reader: "owner" });
    expect(view(OWNER, "not even an object")).toEqual({ reader: "owner" });
    // Self tier: the owner enrolled their own device.
    expect(
      readerViewFor({
        readerAccountId: OWNER,
        readerOwnsDevice: true,
        enrolledByAccountId: OWNER,
        reportingConfig: {},
      }),
    ).toEqual({ reader: "owner" });
  });

  test("the enrolling account gets the config's switches and level (spec defaults: all on, aggregated)", () => {
    expect(view(PARTNER, {})).toEqual({
      reader: "enrolling_account",
      aggregationLevel: "aggregated",
      allowed: {
        blocks: true,
        bypass_attempts: true,
        tamper_events: true,
        heartbeat_status: true,
        config_changes: true,
      },
    });
    expect(view(PARTNER, { ...DETAILED, report_to_authority: { blocks: false } })).toMatchObject({
      aggregationLevel: "detailed",
      allowed: { blocks: false, tamper_events: true },
    });
  });

  test("anyone else (another user, an admin that RLS lets see the row) is not a reader", () => {
    expect(view(STRANGER, DETAILED)).toBeNull();
  });

  test("an invalid stored reporting_config fails closed: the enrolling account sees nothing, no domains", () => {
    for (const broken of [
      { aggregation_level: "everything" },
      { report_to_authority: { blocks: "yes" } },
      "x",
      42,
    ]) {
      const v = view(PARTNER, broken);
      expect(v).toMatchObject({ reader: "enrolling_account", aggregationLevel: "aggregated" });
      expect(visibleEventTypes(v as ReaderView)).toEqual([]);
    }
    // null counts as "not configured": the spec defaults apply.
    expect(visibleEventTypes(view(PARTNER, null) as ReaderView)).toEqual([...EVENT_TYPE_VALUES]);
  });
});

describe("event visibility per report_to_authority switch", () => {
  test("every event type is governed by exactly one switch", () => {
    expect(Object.keys(REPORT_CATEGORY_BY_EVENT_TYPE).sort()).toEqual([...EVENT_TYPE_VALUES].sort());
    expect(new Set(Object.values(REPORT_CATEGORY_BY_EVENT_TYPE))).toEqual(new Set(REPORT_CATEGORIES));
  });

  test.each(REPORT_CATEGORIES)(
    "switching %s off hides exactly its event types from the partner, never from the owner",
    (category) => {
      const partner = view(PARTNER, allOn("detailed", category)) as ReaderView;
      const hidden = EVENT_TYPE_VALUES.filter((t) => REPORT_CATEGORY_BY_EVENT_TYPE[t] === category);
      expect(hidden.length).toBeGreaterThan(0);
      expect(visibleEventTypes(partner)).toEqual(EVENT_TYPE_VALUES.filter((t) => !hidden.includes(t)));
      for (const type of EVENT_TYPE_VALUES) {
        const event = { eventType: type, metadata: EVENTS[type], createdAt: new Date() };
        expect(filterEventForReader(partner, event) === null).toBe(hidden.includes(type));
        expect(filterEventForReader({ reader: "owner" }, event)).toEqual(event);
      }
      expect(visibleEventTypes(partner, hidden[0])).toEqual([]);
      expect(describeView(partner).shared[category]).toBe(false);
    },
  );
});

describe("aggregation level", () => {
  test("detailed: the partner sees the metadata as stored, domains included", () => {
    const partner = view(PARTNER, allOn("detailed")) as ReaderView;
    for (const type of EVENT_TYPE_VALUES) {
      const event = { eventType: type, metadata: EVENTS[type], createdAt: new Date() };
      expect(filterEventForReader(partner, event)).toEqual(event);
    }
    expect(describeView(partner).domains_visible).toBe(true);
  });

  test("aggregated: no event keeps a domain name, an app id or free text; counts and categories stay", () => {
    const partner = view(PARTNER, allOn("aggregated")) as ReaderView;
    for (const type of EVENT_TYPE_VALUES) {
      const filtered = filterEventForReader(partner, {
        eventType: type,
        metadata: EVENTS[type],
        createdAt: new Date(),
      });
      expect(filtered).not.toBeNull();
      const text = JSON.stringify(filtered?.metadata);
      expect({ type, text }).toEqual({
        type,
        text: expect.not.stringMatching(/casino\.example|com\.casino|com\.bet|dns\.casino/),
      });
      expect(
        Object.keys(filtered?.metadata ?? {}).every((k) => AGGREGATED_METADATA_FIELDS[type].includes(k)),
      ).toBe(true);
      expect(filtered?.metadata).not.toHaveProperty("details");
    }
    const block = filterEventForReader(partner, {
      eventType: "block",
      metadata: EVENTS.block,
      createdAt: new Date(),
    });
    expect(block?.metadata).toEqual({ category: "casino", layer: "dns", query_type: "A" });
    expect(describeView(partner).domains_visible).toBe(false);
  });

  test("filtering never mutates the stored metadata", () => {
    const partner = view(PARTNER, allOn("aggregated")) as ReaderView;
    const metadata = { ...EVENTS.block };
    filterEventForReader(partner, { eventType: "block", metadata, createdAt: new Date() });
    expect(metadata).toEqual(EVENTS.block);
  });
});

describe("filterSummaryForReader", () => {
  test("the owner sees the whole summary", () => {
    expect(filterSummaryForReader({ reader: "owner" }, SUMMARY)).toEqual(SUMMARY);
  });

  test("aggregated partner: counts and categories, top_blocked_domains empty", () => {
    const summary = filterSummaryForReader(view(PARTNER, allOn("aggregated")) as ReaderView, SUMMARY);
    expect(summary).toEqual({ ...SUMMARY, top_blocked_domains: [] });
    expect(JSON.stringify(summary)).not.toContain("example");
  });

  test("detailed partner: the domains too", () => {
    expect(filterSummaryForReader(view(PARTNER, allOn("detailed")) as ReaderView, SUMMARY)).toEqual(SUMMARY);
  });

  test.each([
    ["blocks", ["total_blocks", "top_blocked_domains", "blocks_by_category", "blocks_by_layer"]],
    ["bypass_attempts", ["total_bypass_attempts"]],
    ["tamper_events", ["total_tamper_events"]],
    ["heartbeat_status", ["total_heartbeats", "missed_heartbeats", "device_status_at_end_of_day"]],
    ["config_changes", []],
  ] as const)("with %s off, exactly %j are null (not shared)", (category, nulled) => {
    const summary = filterSummaryForReader(view(PARTNER, allOn("detailed", category)) as ReaderView, SUMMARY);
    const nullFields = Object.entries(summary)
      .filter(([, value]) => value === null)
      .map(([key]) => key);
    expect(nullFields.sort()).toEqual([...nulled].sort());
  });
});

import { describe, expect, it } from "vitest";
import { EVENT_TYPE_VALUES, type EventType } from "../enums";
import { fieldErrorsOf, isAppError } from "../errors/app-error";
import {
  type EventMetadata,
  eventMetadataSchema,
  eventWithMetadataSchema,
  parseEventMetadata,
  safeParseEventMetadata,
} from "./event-metadata.schema";
import { type FieldError, formatZodError } from "./field-errors";

function fieldErrorsFor(eventType: EventType, value: unknown): FieldError[] {
  const result = safeParseEventMetadata(eventType, value);
  if (result.success)
    throw new Error(`expected ${eventType} metadata ${JSON.stringify(value)} to be rejected`);
  return formatZodError(result.error, { input: value });
}

// One valid payload per event type; the first five are the spec's own examples (section 9.4).
const VALID_METADATA: { [T in EventType]: EventMetadata<T> } = {
  block: { domain: "example-casino.com", category: "casino", layer: "dns", query_type: "A" },
  bypass_attempt: { method: "vpn_detected", details: "WireGuard tunnel detected on utun3" },
  tamper: { type: "binary_modified", integrity_hash_expected: "abc123", integrity_hash_actual: "def456" },
  heartbeat: {
    agent_version: "1.2.3",
    blocklist_version: 147,
    uptime_seconds: 86_400,
    blocked_count_since_last: 12,
  },
  config_change: {
    field: "protection_config.bypass_detection.vpn_action",
    old_value: "log",
    new_value: "alert",
    changed_by_account_id: 42,
  },
  unenroll: { stage: "requested", request_id: 7, actor_account_id: 42, delay_until: "2025-01-03T10:00:00Z" },
  app_block: { application_id: "com.example.casino", application_name: "Example Casino", category: "casino" },
  install_block: { application_id: "com.example.bet", install_source: "play_store" },
  vpn_detected: { interface_name: "wg0", vpn_protocol: "wireguard", action_taken: "alert" },
  extension_removed: { browser: "firefox", extension_id: "betblocker@example.org" },
};

describe("events.metadata schemas", () => {
  // The spec's tamper example uses shortened hashes ("abc123..."); real ones are longer hex digests.
  VALID_METADATA.tamper = {
    ...VALID_METADATA.tamper,
    integrity_hash_expected: "abc12345",
    integrity_hash_actual: "def45678",
  };

  it.each(EVENT_TYPE_VALUES)("accepts a valid %s payload unchanged", (eventType) => {
    expect(parseEventMetadata(eventType, VALID_METADATA[eventType])).toEqual(VALID_METADATA[eventType]);
  });

  it.each(EVENT_TYPE_VALUES)("rejects an unknown key in %s metadata, naming it", (eventType) => {
    expect(fieldErrorsFor(eventType, { ...VALID_METADATA[eventType], surprise: 1 })).toEqual([
      { path: "surprise", message: "unknown field" },
    ]);
  });

  it.each(EVENT_TYPE_VALUES)("rejects a non-object as %s metadata", (eventType) => {
    expect(fieldErrorsFor(eventType, "x")).toEqual([
      { path: "", message: "Invalid input: expected object, received string" },
    ]);
  });

  describe("block", () => {
    it("allows the domain to be absent (aggregated reporting strips it)", () => {
      expect(parseEventMetadata("block", { layer: "dns", category: "casino" })).toEqual({
        layer: "dns",
        category: "casino",
      });
    });

    it("requires a present domain to be a valid, normalized name", () => {
      expect(fieldErrorsFor("block", { layer: "dns", domain: "Example-Casino.com" })).toEqual([
        {
          path: "domain",
          message:
            'must be a normalized domain name (lower-case, punycode, no trailing dot): "example-casino.com"',
        },
      ]);
      expect(fieldErrorsFor("block", { layer: "dns", domain: "1.2.3.4" })).toEqual([
        { path: "domain", message: "not a valid domain name: IP address, not a domain" },
      ]);
      expect(parseEventMetadata("block", { layer: "dns", domain: "xn--bcher-kva.de" }).domain).toBe(
        "xn--bcher-kva.de",
      );
    });

    it("requires the layer and keeps query_type to the DNS layer", () => {
      expect(fieldErrorsFor("block", { domain: "a.com" })).toEqual([
        { path: "layer", message: "required field is missing" },
      ]);
      expect(fieldErrorsFor("block", { layer: "browser", query_type: "A" })).toEqual([
        { path: "query_type", message: 'is only allowed when layer is "dns"' },
      ]);
      expect(fieldErrorsFor("block", { layer: "dns", query_type: "a record" })[0]?.path).toBe("query_type");
      expect(parseEventMetadata("block", { layer: "dns", query_type: "TYPE65" }).query_type).toBe("TYPE65");
    });

    it("requires a normalized category", () => {
      expect(fieldErrorsFor("block", { layer: "dns", category: "Sports Betting" })).toEqual([
        { path: "category", message: "must be a category of 1-32 characters from a-z, 0-9 and _" },
      ]);
    });
  });

  describe("bypass_attempt", () => {
    it.each([
      "vpn_detected",
      "dns_changed",
      "proxy_set",
      "tor",
      "doh_attempt",
      "dot_attempt",
      "direct_dns",
      "hosts_file_override",
    ])("accepts method %s", (method) => {
      expect(parseEventMetadata("bypass_attempt", { method }).method).toBe(method);
    });

    it("rejects an unknown method and over-long details", () => {
      expect(fieldErrorsFor("bypass_attempt", { method: "vpn" })[0]?.path).toBe("method");
      expect(fieldErrorsFor("bypass_attempt", { method: "tor", details: "x".repeat(1001) })).toEqual([
        { path: "details", message: "must be at most 1000 characters" },
      ]);
    });
  });

  describe("tamper", () => {
    it.each([
      "binary_modified",
      "service_stopped",
      "config_altered",
      "list_signature_invalid",
      "process_killed",
      "resolver_changed",
      "firewall_flushed",
    ])("accepts type %s", (type) => {
      expect(parseEventMetadata("tamper", { type }).type).toBe(type);
    });

    it("requires hashes to be lower-case hex", () => {
      expect(fieldErrorsFor("tamper", { type: "binary_modified", integrity_hash_actual: "XYZ" })).toEqual([
        { path: "integrity_hash_actual", message: "must be a lower-case hex digest (8-128 characters)" },
      ]);
    });
  });

  describe("heartbeat", () => {
    it("requires every counter, as a non-negative whole number", () => {
      expect(
        fieldErrorsFor("heartbeat", { agent_version: "1.2.3", blocklist_version: -1, uptime_seconds: 1.5 }),
      ).toEqual([
        { path: "blocklist_version", message: "must not be negative" },
        { path: "uptime_seconds", message: "must be a whole number" },
        { path: "blocked_count_since_last", message: "required field is missing" },
      ]);
    });

    it("requires a semantic version", () => {
      expect(fieldErrorsFor("heartbeat", { ...VALID_METADATA.heartbeat, agent_version: "v1.2" })).toEqual([
        { path: "agent_version", message: 'must be a semantic version such as "1.2.3"' },
      ]);
      expect(
        parseEventMetadata("heartbeat", { ...VALID_METADATA.heartbeat, agent_version: "1.3.0-beta.1" })
          .agent_version,
      ).toBe("1.3.0-beta.1");
    });
  });

  describe("config_change", () => {
    it("accepts any JSON values, including null, and a system actor", () => {
      const metadata = {
        field: "reporting_config.alerts",
        old_value: null,
        new_value: { on_tamper: false },
        changed_by_account_id: null,
      };
      expect(parseEventMetadata("config_change", metadata)).toEqual(metadata);
    });

    it("requires old_value and a dotted field path", () => {
      expect(
        fieldErrorsFor("config_change", {
          field: "Protection Config",
          new_value: 1,
          changed_by_account_id: 1,
        }),
      ).toEqual([
        { path: "field", message: 'must be a dotted field path such as "protection_config.dns.block_doh"' },
        { path: "old_value", message: "required field is missing" },
      ]);
    });
  });

  it("unenroll rejects a date without time zone", () => {
    expect(
      fieldErrorsFor("unenroll", { stage: "requested", actor_account_id: 1, delay_until: "2025-01-03" }),
    ).toEqual([{ path: "delay_until", message: "must be an ISO 8601 date-time" }]);
  });

  it("vpn_detected requires the action taken", () => {
    expect(fieldErrorsFor("vpn_detected", { interface_name: "tun0" })).toEqual([
      { path: "action_taken", message: "required field is missing" },
    ]);
  });
});

describe("parseEventMetadata / eventMetadataSchema", () => {
  it("throws VALIDATION_FAILED with field errors that point into metadata", () => {
    let thrown: unknown;
    try {
      parseEventMetadata("heartbeat", { agent_version: "1.2.3" });
    } catch (error) {
      thrown = error;
    }
    expect(isAppError(thrown, "VALIDATION_FAILED")).toBe(true);
    expect(fieldErrorsOf(thrown)?.map((fieldError) => fieldError.path)).toEqual([
      "metadata.blocklist_version",
      "metadata.uptime_seconds",
      "metadata.blocked_count_since_last",
    ]);
    expect((thrown as Error).message).toBe(
      "invalid heartbeat event: metadata.blocklist_version: required field is missing (and 2 more)",
    );
  });

  it("refuses an unknown event type arriving at run time", () => {
    expect(() => eventMetadataSchema("blocked" as EventType)).toThrowError('unknown event_type "blocked"');
    let thrown: unknown;
    try {
      parseEventMetadata("blocked" as EventType, {});
    } catch (error) {
      thrown = error;
    }
    expect(fieldErrorsOf(thrown)).toEqual([{ path: "event_type", message: 'unknown event type "blocked"' }]);
  });
});

describe("eventWithMetadataSchema", () => {
  it("picks the metadata schema by event_type", () => {
    expect(
      eventWithMetadataSchema.parse({ event_type: "tamper", metadata: { type: "process_killed" } }),
    ).toEqual({
      event_type: "tamper",
      metadata: { type: "process_killed" },
    });
    const result = eventWithMetadataSchema.safeParse({ event_type: "tamper", metadata: { method: "tor" } });
    expect(result.success).toBe(false);
    if (!result.success) {
      expect(formatZodError(result.error)).toEqual([
        {
          path: "metadata.type",
          message:
            'Invalid option: expected one of "binary_modified"|"service_stopped"|"config_altered"|"list_signature_invalid"|"process_killed"|"resolver_changed"|"firewall_flushed"',
        },
        { path: "metadata.method", message: "unknown field" },
      ]);
    }
  });

  it("names the discriminator when the event type is unknown", () => {
    const result = eventWithMetadataSchema.safeParse({ event_type: "blocked", metadata: {} });
    expect(result.success).toBe(false);
    if (!result.success) expect(formatZodError(result.error)[0]?.path).toBe("event_type");
  });
});

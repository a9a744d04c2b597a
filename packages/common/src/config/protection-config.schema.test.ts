import { describe, expect, it } from "vitest";
import { type FieldError, formatZodError } from "./field-errors";
import {
  defaultProtectionConfig,
  type ProtectionConfig,
  protectionConfigSchema,
} from "./protection-config.schema";

/** The field errors of a value the schema must refuse. */
function fieldErrorsFor(value: unknown): FieldError[] {
  const result = protectionConfigSchema.safeParse(value);
  if (result.success) throw new Error(`expected ${JSON.stringify(value)} to be rejected`);
  return formatZodError(result.error, { input: value });
}

// Spec 003 section 9.1, written out by hand.
const SPEC_DEFAULT: ProtectionConfig = {
  layers: { dns: true, application: false, browser: false },
  dns: {
    block_response: "nxdomain",
    redirect_url: null,
    block_doh: true,
    block_dot: true,
    hosts_file_fallback: true,
  },
  bypass_detection: { vpn_action: "alert", proxy_action: "alert", tor_action: "lockdown" },
  heartbeat_interval_seconds: 300,
  tamper_sensitivity: "standard",
};

describe("protection_config schema", () => {
  it("parses {} to the spec's complete default", () => {
    expect(protectionConfigSchema.parse({})).toEqual(SPEC_DEFAULT);
    expect(defaultProtectionConfig()).toEqual(SPEC_DEFAULT);
  });

  it("fills the defaults of a partial nested object and keeps the given fields", () => {
    const config = protectionConfigSchema.parse({ dns: { block_doh: false }, layers: { application: true } });
    expect(config.dns).toEqual({ ...SPEC_DEFAULT.dns, block_doh: false });
    expect(config.layers).toEqual({ dns: true, application: true, browser: false });
    expect(config.bypass_detection).toEqual(SPEC_DEFAULT.bypass_detection);
  });

  it("hands out independent default objects", () => {
    const first = defaultProtectionConfig();
    first.layers.browser = true;
    expect(defaultProtectionConfig().layers.browser).toBe(false);
  });

  it("round-trips a full config unchanged", () => {
    const config: ProtectionConfig = {
      ...SPEC_DEFAULT,
      dns: {
        ...SPEC_DEFAULT.dns,
        block_response: "redirect",
        redirect_url: "https://blocked.example.org/page",
      },
      bypass_detection: { vpn_action: "lockdown", proxy_action: "log", tor_action: "alert" },
      heartbeat_interval_seconds: 60,
      tamper_sensitivity: "maximum",
    };
    expect(protectionConfigSchema.parse(config)).toEqual(config);
  });

  it("rejects a wrong shape with an error naming the field", () => {
    expect(fieldErrorsFor({ layers: "all" })).toEqual([
      { path: "layers", message: "Invalid input: expected object, received string" },
    ]);
    expect(fieldErrorsFor({ heartbeat_interval_seconds: "300" })).toEqual([
      { path: "heartbeat_interval_seconds", message: "must be a whole number of seconds" },
    ]);
    expect(fieldErrorsFor([])).toEqual([
      { path: "", message: "Invalid input: expected object, received array" },
    ]);
  });

  it("rejects unknown keys at every level, naming the key", () => {
    expect(fieldErrorsFor({ heartbeat_interval: 300 })).toEqual([
      { path: "heartbeat_interval", message: "unknown field" },
    ]);
    expect(fieldErrorsFor({ dns: { blockDoh: false } })).toEqual([
      { path: "dns.blockDoh", message: "unknown field" },
    ]);
  });

  it("keeps the DNS layer on", () => {
    expect(fieldErrorsFor({ layers: { dns: false } })).toEqual([
      { path: "layers.dns", message: "must be true: the DNS blocking layer cannot be turned off" },
    ]);
  });

  it("requires redirect_url when block_response is redirect", () => {
    expect(fieldErrorsFor({ dns: { block_response: "redirect" } })).toEqual([
      { path: "dns.redirect_url", message: 'is required when block_response is "redirect"' },
    ]);
    // A URL kept while answering NXDOMAIN is fine: switching back to redirect needs no retyping.
    expect(
      protectionConfigSchema.parse({ dns: { redirect_url: "http://10.0.0.1/blocked" } }).dns.redirect_url,
    ).toBe("http://10.0.0.1/blocked");
  });

  it.each(["javascript:alert(1)", "file:///etc/passwd", "not a url", "ftp://example.com/"])(
    "rejects redirect_url %j",
    (redirectUrl) => {
      expect(fieldErrorsFor({ dns: { block_response: "redirect", redirect_url: redirectUrl } })).toEqual([
        { path: "dns.redirect_url", message: "must be an http:// or https:// URL" },
      ]);
    },
  );

  it("offers only the spec's options for enums", () => {
    expect(fieldErrorsFor({ dns: { block_response: "refused" } })).toEqual([
      { path: "dns.block_response", message: 'Invalid option: expected one of "nxdomain"|"redirect"' },
    ]);
    expect(fieldErrorsFor({ bypass_detection: { tor_action: "block" } })).toEqual([
      {
        path: "bypass_detection.tor_action",
        message: 'Invalid option: expected one of "log"|"alert"|"lockdown"',
      },
    ]);
    expect(fieldErrorsFor({ tamper_sensitivity: "high" })[0]?.path).toBe("tamper_sensitivity");
  });

  it.each([
    [29, "must be at least 30 seconds"],
    [86_401, "must be at most 86400 seconds (one day)"],
    [300.5, "must be a whole number of seconds"],
    [-1, "must be at least 30 seconds"],
  ])("rejects heartbeat_interval_seconds %d", (seconds, message) => {
    expect(fieldErrorsFor({ heartbeat_interval_seconds: seconds })).toEqual([
      { path: "heartbeat_interval_seconds", message },
    ]);
  });

  it("accepts the heartbeat bounds themselves", () => {
    expect(protectionConfigSchema.parse({ heartbeat_interval_seconds: 30 }).heartbeat_interval_seconds).toBe(
      30,
    );
    expect(
      protectionConfigSchema.parse({ heartbeat_interval_seconds: 86_400 }).heartbeat_interval_seconds,
    ).toBe(86_400);
  });
});

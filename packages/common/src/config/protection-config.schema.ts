/**
 * enrollments.protection_config (spec 003 section 9.1): which blocking layers run on the device
 * and how they behave.
 *
 * Contract: objects are strict (an unknown or misspelled key is an error, not silently ignored);
 * every field has the spec's default, so `protectionConfigSchema.parse({})` yields the complete
 * default config and a stored partial config gains new fields with their defaults on read
 * (JSONB is schema-on-read, spec section 10).
 */
import { z } from "zod";

export const BLOCK_RESPONSE_VALUES = ["nxdomain", "redirect"] as const;
/** How a blocked DNS query is answered: NXDOMAIN (RFC 1035 RCODE 3), or the address of the interstitial page. */
export const blockResponseSchema = z.enum(BLOCK_RESPONSE_VALUES);
export type BlockResponse = z.infer<typeof blockResponseSchema>;

export const BYPASS_ACTION_VALUES = ["log", "alert", "lockdown"] as const;
/**
 * What the agent does when it detects a bypass route: log it; log and alert the enrollment's
 * partner/authority; or additionally cut network access until the route is gone.
 */
export const bypassActionSchema = z.enum(BYPASS_ACTION_VALUES);
export type BypassAction = z.infer<typeof bypassActionSchema>;

export const TAMPER_SENSITIVITY_VALUES = ["standard", "elevated", "maximum"] as const;
export const tamperSensitivitySchema = z.enum(TAMPER_SENSITIVITY_VALUES);
export type TamperSensitivity = z.infer<typeof tamperSensitivitySchema>;

/** Heartbeats closer than 30 s flood the API; more than a day apart, a silenced device goes unnoticed too long. */
export const MIN_HEARTBEAT_INTERVAL_SECONDS = 30;
export const MAX_HEARTBEAT_INTERVAL_SECONDS = 86_400;

export const blockingLayersSchema = z.strictObject({
  /** Layer 1, DNS/network blocking. Always on: it is the floor of protection every enrollment gets. */
  dns: z.literal(true, { error: "must be true: the DNS blocking layer cannot be turned off" }).default(true),
  /** Layer 2, application blocking (Phase 2). */
  application: z.boolean().default(false),
  /** Layer 3, browser/content blocking (Phase 3). */
  browser: z.boolean().default(false),
});

/** An interstitial page address; only http(s), so a config cannot point browsers at javascript: or file: URLs. */
const redirectUrlSchema = z.url({
  protocol: /^https?$/,
  error: "must be an http:// or https:// URL",
});

export const dnsBlockingSchema = z
  .strictObject({
    block_response: blockResponseSchema.default("nxdomain"),
    /** Interstitial page shown for blocked names; required when block_response is "redirect". */
    redirect_url: redirectUrlSchema.nullable().default(null),
    /** Block DNS-over-HTTPS endpoints (RFC 8484), which would otherwise skip the agent's resolver. */
    block_doh: z.boolean().default(true),
    /** Block DNS-over-TLS, TCP port 853 (RFC 7858). */
    block_dot: z.boolean().default(true),
    /** Also write blocked names to the hosts file, so blocking survives the agent's resolver being bypassed. */
    hosts_file_fallback: z.boolean().default(true),
  })
  .superRefine((dns, context) => {
    if (dns.block_response === "redirect" && dns.redirect_url === null) {
      context.addIssue({
        code: "custom",
        path: ["redirect_url"],
        message: 'is required when block_response is "redirect"',
      });
    }
  });

export const bypassDetectionSchema = z.strictObject({
  vpn_action: bypassActionSchema.default("alert"),
  proxy_action: bypassActionSchema.default("alert"),
  tor_action: bypassActionSchema.default("lockdown"),
});

export const protectionConfigSchema = z.strictObject({
  layers: blockingLayersSchema.prefault({}),
  dns: dnsBlockingSchema.prefault({}),
  bypass_detection: bypassDetectionSchema.prefault({}),
  heartbeat_interval_seconds: z
    .int({ error: "must be a whole number of seconds" })
    .min(MIN_HEARTBEAT_INTERVAL_SECONDS, {
      error: `must be at least ${MIN_HEARTBEAT_INTERVAL_SECONDS} seconds`,
    })
    .max(MAX_HEARTBEAT_INTERVAL_SECONDS, {
      error: `must be at most ${MAX_HEARTBEAT_INTERVAL_SECONDS} seconds (one day)`,
    })
    .default(300),
  tamper_sensitivity: tamperSensitivitySchema.default("standard"),
});

/** A validated protection_config with every default filled in. */
export type ProtectionConfig = z.output<typeof protectionConfigSchema>;
/** What may be stored or submitted: any subset of the fields. */
export type ProtectionConfigInput = z.input<typeof protectionConfigSchema>;

/** A fresh copy of the default protection_config (safe to mutate). */
export function defaultProtectionConfig(): ProtectionConfig {
  return protectionConfigSchema.parse({});
}

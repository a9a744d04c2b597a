/**
 * events.metadata (spec 003 section 9.4): the payload of an agent event, whose shape depends on
 * events.event_type. The spec gives block, bypass_attempt, tamper, heartbeat and config_change;
 * the shapes for unenroll, app_block, install_block, vpn_detected and extension_removed are this
 * project's (documented field by field below).
 *
 * Contract: every object is strict, so an agent that sends a field the server does not know fails
 * loudly instead of having it dropped. Free-text fields are length-bounded because events arrive
 * from devices in bulk.
 */
import { z } from "zod";
import { categorySchema } from "../domain/category";
import { normalizedDomainSchema } from "../domain/domain.schema";
import { type EventType, eventTypeSchema } from "../enums";
import { AppError, validationError } from "../errors/app-error";
import { bypassActionSchema } from "./protection-config.schema";

/** Free text from an agent (a detection's description): bounded so a batch cannot carry megabytes. */
const MAX_DETAILS_LENGTH = 1000;
const detailsSchema = z.string().max(MAX_DETAILS_LENGTH, {
  error: `must be at most ${MAX_DETAILS_LENGTH} characters`,
});
const countSchema = z.int({ error: "must be a whole number" }).min(0, { error: "must not be negative" });
const accountIdSchema = z
  .int({ error: "must be an account id (a positive whole number)" })
  .positive({ error: "must be an account id (a positive whole number)" });

export const BLOCKING_LAYER_VALUES = ["dns", "application", "browser"] as const;
/** The three blocking layers of protection_config.layers. */
export const blockingLayerSchema = z.enum(BLOCKING_LAYER_VALUES);
export type BlockingLayer = z.infer<typeof blockingLayerSchema>;

/** A DNS RR type mnemonic ("A", "AAAA", "HTTPS") or the generic form "TYPE65" (RFC 3597 section 5). */
const dnsQueryTypeSchema = z.string().regex(/^(?:[A-Z][A-Z0-9-]{0,15}|TYPE[0-9]{1,5})$/, {
  error: 'must be a DNS record type such as "A", "AAAA", "HTTPS" or "TYPE65"',
});

// ---------------------------------------------------------------------------------------------
// event_type = 'block'

export const blockEventMetadataSchema = z
  .strictObject({
    /**
     * The blocked name. Absent when reporting_config.aggregation_level is "aggregated": the agent
     * strips it before the event leaves the device. When present it must be normalized.
     */
    domain: normalizedDomainSchema.optional(),
    /** Category of the matching blocklist entry, if it has one. */
    category: categorySchema.optional(),
    layer: blockingLayerSchema,
    /** The DNS question type; only meaningful for the dns layer. */
    query_type: dnsQueryTypeSchema.optional(),
  })
  .superRefine((metadata, context) => {
    if (metadata.query_type !== undefined && metadata.layer !== "dns") {
      context.addIssue({
        code: "custom",
        path: ["query_type"],
        message: 'is only allowed when layer is "dns"',
      });
    }
  });

// ---------------------------------------------------------------------------------------------
// event_type = 'bypass_attempt': the user routes around blocking while the agent itself is intact.

export const BYPASS_METHOD_VALUES = [
  /** A VPN tunnel carries traffic past the agent's resolver (spec). */
  "vpn_detected",
  /** A network connection's DNS servers were pointed away from the agent's resolver (spec). */
  "dns_changed",
  /** A system or browser proxy was configured (spec). */
  "proxy_set",
  /** Tor is running or Tor entry nodes are contacted (spec). */
  "tor",
  /** A connection to a known DNS-over-HTTPS endpoint (RFC 8484) was seen, e.g. a browser's "secure DNS". */
  "doh_attempt",
  /** A DNS-over-TLS connection to TCP port 853 (RFC 7858) was seen. */
  "dot_attempt",
  /** Plain DNS sent straight to an outside resolver on port 53 instead of through the agent. */
  "direct_dns",
  /** A hosts-file line maps a blocked name to an address, which would answer before any resolver. */
  "hosts_file_override",
] as const;
export const bypassMethodSchema = z.enum(BYPASS_METHOD_VALUES);
export type BypassMethod = z.infer<typeof bypassMethodSchema>;

export const bypassAttemptEventMetadataSchema = z.strictObject({
  method: bypassMethodSchema,
  /** What was detected, for a person ("WireGuard tunnel detected on utun3"). */
  details: detailsSchema.optional(),
});

// ---------------------------------------------------------------------------------------------
// event_type = 'tamper': the agent's own components were attacked.

export const TAMPER_TYPE_VALUES = [
  /** The agent binary's hash no longer matches the installed one (spec). */
  "binary_modified",
  /** The agent service was stopped or disabled (spec). */
  "service_stopped",
  /** The agent's config file was changed outside the agent (spec). */
  "config_altered",
  /** A blocklist file or delta failed Ed25519 verification: never silently fall back. */
  "list_signature_invalid",
  /** The agent process was killed (detected by the watchdog on restart). */
  "process_killed",
  /** The agent's system resolver takeover (resolv.conf / systemd-resolved drop-in) was undone. */
  "resolver_changed",
  /** The agent's firewall rules (port 53 redirect, port 853 block) were removed. */
  "firewall_flushed",
] as const;
export const tamperTypeSchema = z.enum(TAMPER_TYPE_VALUES);
export type TamperType = z.infer<typeof tamperTypeSchema>;

/** A hex digest (lower case), e.g. SHA-256 of the agent binary. */
const integrityHashSchema = z.string().regex(/^[0-9a-f]{8,128}$/, {
  error: "must be a lower-case hex digest (8-128 characters)",
});

export const tamperEventMetadataSchema = z.strictObject({
  type: tamperTypeSchema,
  integrity_hash_expected: integrityHashSchema.optional(),
  integrity_hash_actual: integrityHashSchema.optional(),
  details: detailsSchema.optional(),
});

// ---------------------------------------------------------------------------------------------
// event_type = 'heartbeat'

/** Semantic version (semver.org 2.0.0), e.g. "1.2.3" or "1.3.0-beta.1". */
const agentVersionSchema = z
  .string()
  .max(64, { error: "must be at most 64 characters" })
  .regex(
    /^(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/,
    {
      error: 'must be a semantic version such as "1.2.3"',
    },
  );

export const heartbeatEventMetadataSchema = z.strictObject({
  agent_version: agentVersionSchema,
  /** blocklist_versions.version_number the agent is enforcing; 0 before its first list. */
  blocklist_version: countSchema,
  uptime_seconds: countSchema,
  blocked_count_since_last: countSchema,
});

// ---------------------------------------------------------------------------------------------
// event_type = 'config_change'

export const configChangeEventMetadataSchema = z.strictObject({
  /** Dotted path of the changed field, e.g. "protection_config.bypass_detection.vpn_action". */
  field: z
    .string()
    .max(200, { error: "must be at most 200 characters" })
    .regex(/^[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*$/, {
      error: 'must be a dotted field path such as "protection_config.dns.block_doh"',
    }),
  /** Value before the change; null when the field did not exist. */
  old_value: z.json({ error: "must be a JSON value (null when there was none)" }),
  new_value: z.json({ error: "must be a JSON value (null when removed)" }),
  /** Who made the change; null when the system did (a migration, a policy applied by the platform). */
  changed_by_account_id: accountIdSchema.nullable(),
});

// ---------------------------------------------------------------------------------------------
// event_type = 'unenroll' (project-defined): one step of an unenrollment, as the device learns it.

export const UNENROLL_STAGE_VALUES = [
  "requested",
  "approved",
  "denied",
  "expired",
  "cancelled",
  "completed",
] as const;
export const unenrollStageSchema = z.enum(UNENROLL_STAGE_VALUES);
export type UnenrollStage = z.infer<typeof unenrollStageSchema>;

export const unenrollEventMetadataSchema = z.strictObject({
  stage: unenrollStageSchema,
  /** enrollment_unenroll_requests.id, when the step belongs to a request. */
  request_id: z.int().positive({ error: "must be a positive request id" }).optional(),
  /** Who acted (requester, approver); null when the system did (a delay expiring). */
  actor_account_id: accountIdSchema.nullable(),
  /** When a pending self-tier request takes effect (ISO 8601 with offset). */
  delay_until: z.iso.datetime({ offset: true, error: "must be an ISO 8601 date-time" }).optional(),
});

// ---------------------------------------------------------------------------------------------
// Phase 2 and 3 events (project-defined).

/** An application identifier: bundle id, package name or executable path. */
const applicationIdSchema = z
  .string()
  .min(1, { error: "must not be empty" })
  .max(512, { error: "must be at most 512 characters" });
const displayNameSchema = z.string().max(256, { error: "must be at most 256 characters" });

/** event_type = 'app_block': a gambling application was prevented from starting. */
export const appBlockEventMetadataSchema = z.strictObject({
  application_id: applicationIdSchema,
  application_name: displayNameSchema.optional(),
  category: categorySchema.optional(),
});

/** event_type = 'install_block': installing a gambling application was prevented. */
export const installBlockEventMetadataSchema = z.strictObject({
  application_id: applicationIdSchema,
  application_name: displayNameSchema.optional(),
  /** Where the install came from ("play_store", "app_store", "sideload"...). */
  install_source: z
    .string()
    .regex(/^[a-z0-9_]{1,64}$/, { error: "must be an identifier of a-z, 0-9 and _" })
    .optional(),
  category: categorySchema.optional(),
});

/** event_type = 'vpn_detected': a VPN or proxy was found, with the action protection_config prescribed. */
export const vpnDetectedEventMetadataSchema = z.strictObject({
  interface_name: z.string().max(64, { error: "must be at most 64 characters" }).optional(),
  /** "wireguard", "openvpn", "ipsec"... when the agent can tell. */
  vpn_protocol: z.string().max(64, { error: "must be at most 64 characters" }).optional(),
  action_taken: bypassActionSchema,
  details: detailsSchema.optional(),
});

/** event_type = 'extension_removed': the BetBlocker browser extension was removed or disabled. */
export const extensionRemovedEventMetadataSchema = z.strictObject({
  browser: z
    .string()
    .regex(/^[a-z0-9_-]{1,64}$/, { error: 'must be a browser identifier such as "firefox"' }),
  extension_id: z
    .string()
    .min(1, { error: "must not be empty" })
    .max(256, { error: "must be at most 256 characters" }),
  details: detailsSchema.optional(),
});

// ---------------------------------------------------------------------------------------------
// Lookup by event type.

const EVENT_METADATA_SCHEMAS = {
  block: blockEventMetadataSchema,
  bypass_attempt: bypassAttemptEventMetadataSchema,
  tamper: tamperEventMetadataSchema,
  heartbeat: heartbeatEventMetadataSchema,
  config_change: configChangeEventMetadataSchema,
  unenroll: unenrollEventMetadataSchema,
  app_block: appBlockEventMetadataSchema,
  install_block: installBlockEventMetadataSchema,
  vpn_detected: vpnDetectedEventMetadataSchema,
  extension_removed: extensionRemovedEventMetadataSchema,
} as const satisfies Record<EventType, z.ZodType>;

export type EventMetadataSchemas = typeof EVENT_METADATA_SCHEMAS;
/** The validated metadata of an event of type T (a union when T is a union). */
export type EventMetadata<T extends EventType = EventType> = z.output<EventMetadataSchemas[T]>;

/**
 * The metadata schema for an event type. Throws AppError VALIDATION_FAILED for a string that is
 * not an event type (event types arrive from devices, so this can happen at run time).
 */
export function eventMetadataSchema<T extends EventType>(eventType: T): EventMetadataSchemas[T] {
  if (!eventTypeSchema.safeParse(eventType).success) {
    throw new AppError(
      "VALIDATION_FAILED",
      `invalid event: unknown event_type ${JSON.stringify(eventType)}`,
      {
        fieldErrors: [{ path: "event_type", message: `unknown event type ${JSON.stringify(eventType)}` }],
      },
    );
  }
  return EVENT_METADATA_SCHEMAS[eventType];
}

/** Validates metadata for an event type without throwing (zod's result). */
export function safeParseEventMetadata<T extends EventType>(
  eventType: T,
  value: unknown,
): z.ZodSafeParseResult<EventMetadata<T>> {
  return eventMetadataSchema(eventType).safeParse(value) as z.ZodSafeParseResult<EventMetadata<T>>;
}

/**
 * Validates metadata for an event type. Throws AppError VALIDATION_FAILED whose field errors are
 * prefixed with "metadata." so they point into the event.
 */
export function parseEventMetadata<T extends EventType>(eventType: T, value: unknown): EventMetadata<T> {
  const result = safeParseEventMetadata(eventType, value);
  if (result.success) return result.data;
  throw validationError(
    new z.ZodError(result.error.issues.map((issue) => ({ ...issue, path: ["metadata", ...issue.path] }))),
    { subject: `${eventType} event`, input: { metadata: value } },
  );
}

/**
 * An event's type and metadata together, discriminated on event_type. The envelope objects are
 * not strict so the API can combine this with its own envelope fields (timestamps, idempotency
 * key): `z.intersection(envelopeSchema, eventWithMetadataSchema)`. The metadata stays strict.
 */
export const eventWithMetadataSchema = z.discriminatedUnion("event_type", [
  z.object({ event_type: z.literal("block"), metadata: blockEventMetadataSchema }),
  z.object({ event_type: z.literal("bypass_attempt"), metadata: bypassAttemptEventMetadataSchema }),
  z.object({ event_type: z.literal("tamper"), metadata: tamperEventMetadataSchema }),
  z.object({ event_type: z.literal("heartbeat"), metadata: heartbeatEventMetadataSchema }),
  z.object({ event_type: z.literal("config_change"), metadata: configChangeEventMetadataSchema }),
  z.object({ event_type: z.literal("unenroll"), metadata: unenrollEventMetadataSchema }),
  z.object({ event_type: z.literal("app_block"), metadata: appBlockEventMetadataSchema }),
  z.object({ event_type: z.literal("install_block"), metadata: installBlockEventMetadataSchema }),
  z.object({ event_type: z.literal("vpn_detected"), metadata: vpnDetectedEventMetadataSchema }),
  z.object({ event_type: z.literal("extension_removed"), metadata: extensionRemovedEventMetadataSchema }),
]);
export type EventWithMetadata = z.output<typeof eventWithMetadataSchema>;

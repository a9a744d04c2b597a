/**
 * The device wire contract (packages/proto) <-> the device services of packages/core: decoding requests
 * into service inputs (with the structural checks of the proto package) and building response messages.
 * Services never see protobuf; routes never see SQL.
 */
import type { KeyObject } from "node:crypto";
import { keyId, rawPublicKey } from "@betblocker/common";
import type { FieldError } from "@betblocker/common/config/field-errors";
import { AppError, isAppError } from "@betblocker/common/errors/app-error";
import type { PublishedVersion, SyncPlan } from "@betblocker/core/devices/blocklist-sync.service";
import type { DeviceSession } from "@betblocker/core/devices/device-auth";
import type { EffectiveDeviceConfig } from "@betblocker/core/devices/device-config";
import type { IncomingEvent, IncomingEventBatch } from "@betblocker/core/events/event-ingest.service";
import type { IncomingFederatedReport } from "@betblocker/core/events/federated-report.service";
import {
  agentConfigFromJsonb,
  type BlocklistManifest,
  BlocklistManifestSchema,
  checkEventBatch,
  create,
  decodeMessage,
  type EnrollmentConfig,
  EnrollmentConfigSchema,
  EnrollmentStatusSchema,
  EnrollmentTierSchema,
  type EventBatch,
  EventBatchSchema,
  enumFromString,
  enumToString,
  eventRowOf,
  type FederatedReportBatch,
  FederatedReportBatchSchema,
  findUnknownEnumValues,
  HeuristicMatchTypeSchema,
  type MessageShape,
  type SyncResponse,
  SyncResponseSchema,
  timestampFromDate,
} from "@betblocker/proto";
import type { DescMessage } from "@bufbuild/protobuf";

/** Decodes a request body (absent body = the empty message) with the proto package's size limits. */
export function decodeBody<Desc extends DescMessage>(schema: Desc, body: unknown): MessageShape<Desc> {
  const bytes = body instanceof Uint8Array ? body : new Uint8Array(0);
  return decodeMessage(schema, bytes);
}

function validation(subject: string, fieldErrors: FieldError[]): AppError {
  const first = fieldErrors[0];
  const more = fieldErrors.length > 1 ? ` (and ${fieldErrors.length - 1} more)` : "";
  return new AppError("VALIDATION_FAILED", `invalid ${subject}: ${first?.path}: ${first?.message}${more}`, {
    fieldErrors,
  });
}

/**
 * EventBatch -> service input. Structural problems (unknown enums, payload/type mismatch, missing ids or
 * times, config_change values that are not JSON) are collected for the whole batch: 400, nothing stored.
 */
export function eventBatchInput(batch: EventBatch): IncomingEventBatch {
  const fieldErrors = checkEventBatch(batch);
  if (fieldErrors.length > 0) throw validation("event batch", fieldErrors);
  const events: IncomingEvent[] = [];
  batch.events.forEach((event, index) => {
    try {
      const row = eventRowOf(event);
      events.push(
        row.kind === "drop_notice"
          ? {
              kind: "drop_notice",
              eventId: event.eventId,
              occurredAt: row.occurredAt,
              droppedCount: row.droppedCount,
            }
          : {
              kind: "event",
              eventId: event.eventId,
              eventType: row.eventType,
              occurredAt: row.occurredAt,
              metadata: row.metadata,
            },
      );
    } catch (error) {
      if (!isAppError(error, "VALIDATION_FAILED")) throw error;
      const details = error.details as { fieldErrors?: FieldError[] } | undefined;
      for (const fieldError of details?.fieldErrors ?? [{ path: "", message: error.message }]) {
        fieldErrors.push({ path: `events[${index}].${fieldError.path}`, message: fieldError.message });
      }
    }
  });
  if (fieldErrors.length > 0) throw validation("event batch", fieldErrors);
  return { batchId: batch.batchId, events };
}

export function decodeEventBatch(body: unknown): IncomingEventBatch {
  return eventBatchInput(decodeBody(EventBatchSchema, body));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** FederatedReportBatch -> service input; unknown enum values or a bad batch id: 400. */
export function federatedReportsInput(batch: FederatedReportBatch): IncomingFederatedReport[] {
  const fieldErrors: FieldError[] = [];
  if (!UUID.test(batch.batchId)) {
    fieldErrors.push({ path: "batch_id", message: "must be a UUID in lower-case canonical form" });
  }
  for (const unknown of findUnknownEnumValues(FederatedReportBatchSchema, batch)) {
    fieldErrors.push({ path: unknown.path, message: `unknown ${unknown.enumType} value ${unknown.value}` });
  }
  if (fieldErrors.length > 0) throw validation("federated report batch", fieldErrors);
  return batch.reports.map((report) => ({
    domain: report.domain,
    heuristicMatchType: enumToString(HeuristicMatchTypeSchema, report.heuristicMatchType) ?? null,
    score: report.score,
  }));
}

export function decodeFederatedReports(body: unknown): IncomingFederatedReport[] {
  return federatedReportsInput(decodeBody(FederatedReportBatchSchema, body));
}

/** EnrollmentConfig of the device's current enrollment (undefined when it has none). */
export function enrollmentMessage(session: DeviceSession): EnrollmentConfig | undefined {
  const enrollment = session.enrollment;
  if (!enrollment) return undefined;
  return create(EnrollmentConfigSchema, {
    enrollmentId: enrollment.publicId,
    tier: enumFromString(EnrollmentTierSchema, enrollment.tier) ?? 0,
    status: enumFromString(EnrollmentStatusSchema, enrollment.status) ?? 0,
    ...(enrollment.unenrollEffectiveAt
      ? { unenrollEffectiveAt: timestampFromDate(enrollment.unenrollEffectiveAt) }
      : {}),
  });
}

/** The complete AgentConfig of a config whose protection part validated. */
export function agentConfigOf(config: EffectiveDeviceConfig) {
  if (!config.protection) throw new AppError("CONFIG_INVALID", "protection_config does not validate");
  return agentConfigFromJsonb(config.protection, config.reporting);
}

export function signingKeyMessage(publicKey: KeyObject) {
  return { keyId: keyId(publicKey), publicKey: rawPublicKey(publicKey) };
}

export function manifestOf(latest: PublishedVersion): BlocklistManifest {
  return create(BlocklistManifestSchema, {
    version: latest.versionNumber,
    sha256: latest.sha256,
    entryCount: latest.entryCount,
    createdAt: timestampFromDate(latest.createdAt),
    keyId: latest.keyId,
  });
}

/** The SyncResponse of a plan (protocol version 1). */
export function syncResponseOf(plan: SyncPlan, protocolVersion: number): SyncResponse {
  const latest = plan.latest;
  const result: SyncResponse["result"] =
    plan.kind === "up_to_date"
      ? {
          case: "upToDate",
          value: { $typeName: "betblocker.agent.v1.UpToDate", version: latest.versionNumber },
        }
      : plan.kind === "delta_chain"
        ? {
            case: "deltaChain",
            value: {
              $typeName: "betblocker.agent.v1.DeltaChain",
              deltas: [...plan.deltas],
              toVersion: latest.versionNumber,
            },
          }
        : {
            case: "fullSnapshot",
            value: {
              $typeName: "betblocker.agent.v1.FullSnapshot",
              snapshot: latest.snapshot,
              version: latest.versionNumber,
            },
          };
  return create(SyncResponseSchema, {
    keyId: latest.keyId,
    result,
    latest: manifestOf(latest),
    protocolVersion,
  });
}

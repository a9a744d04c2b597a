/**
 * What the enrollment and unenrollment services share: loading the actor's facts for the policy, building
 * the views the API shows (public ids only), writing lifecycle events and notifications, and turning the
 * database's refusals into AppErrors.
 */
import {
  configChangeEventMetadataSchema,
  unenrollEventMetadataSchema,
} from "@betblocker/common/config/event-metadata.schema";
import type { ProtectionConfig } from "@betblocker/common/config/protection-config.schema";
import type { ReportingConfig } from "@betblocker/common/config/reporting-config.schema";
import { AppError } from "@betblocker/common/errors/app-error";
import type { TransactionSql } from "@betblocker/db/client";
import type { AccountProfile } from "@betblocker/db/repositories/account.repository";
import { insertEnrollmentEvents } from "@betblocker/db/repositories/config-event.repository";
import {
  type EnrollmentParties,
  type EnrollmentRow,
  type EnrollmentStatus,
  type EnrollmentTier,
  findAccountPublicIds,
  findEnrollmentOrgAdminIds,
  findEnrollmentParties,
} from "@betblocker/db/repositories/enrollment.repository";
import {
  enqueueNotifications,
  type NotificationInput,
} from "@betblocker/db/repositories/notification.repository";
import { findAdminOrganizationIds } from "@betblocker/db/repositories/organization.repository";
import type {
  EnrollmentRequestRow,
  RequestKind,
  RequestStatus,
  StoredFieldChange,
} from "@betblocker/db/repositories/unenroll-request.repository";
import type { ChangeDirection, FieldChange } from "./config-change";
import { classifyChange } from "./config-change";
import type { EnrollmentResource, PolicyActor, RequestResource } from "./enrollment.policy";
import {
  type ApiUnenrollmentPolicy,
  parseStoredConfigs,
  type StoredConfigs,
  toApiPolicy,
} from "./enrollment-config";

export const NOTIFY_ACCOUNTS_FIELD = "unenrollment_policy.notify_accounts";

export async function loadPolicyActor(tx: TransactionSql, account: AccountProfile): Promise<PolicyActor> {
  return {
    accountId: account.id,
    role: account.role,
    adminOrganizationIds: new Set(await findAdminOrganizationIds(tx, account.id)),
  };
}

export function toEnrollmentResource(row: EnrollmentRow, parties: EnrollmentParties): EnrollmentResource {
  return {
    tier: row.tier,
    status: row.status,
    ownerAccountId: parties.ownerAccountId,
    enrolledByAccountId: row.enrolledByAccountId,
    organizationId: row.organizationId,
  };
}

export function toRequestResource(
  request: EnrollmentRequestRow,
  enrollment: EnrollmentResource,
): RequestResource {
  return {
    enrollment,
    requestedByAccountId: request.requestedByAccountId,
    requiredApproverAccountId: request.requiredApproverAccountId,
    status: request.status,
  };
}

/** An enrollment row with its parties, as loaded for a decision. */
export interface LoadedEnrollment {
  row: EnrollmentRow;
  parties: EnrollmentParties;
  resource: EnrollmentResource;
  configs: StoredConfigs;
}

export async function loadParties(tx: TransactionSql, row: EnrollmentRow): Promise<LoadedEnrollment> {
  const parties = (await findEnrollmentParties(tx, [row.id])).get(row.id);
  // The row is visible, so its parties are: a gap means the two rules diverged (a defect).
  if (!parties) throw new AppError("INTERNAL", "enrollment parties not visible");
  return { row, parties, resource: toEnrollmentResource(row, parties), configs: parseStoredConfigs(row) };
}

// ---------------------------------------------------------------------------------------------------------
// Views (public ids only)

export interface EnrollmentView {
  publicId: string;
  devicePublicId: string;
  tier: EnrollmentTier;
  status: EnrollmentStatus;
  ownerPublicId: string;
  enrolledByPublicId: string;
  organizationPublicId: string | null;
  protectionConfig: ProtectionConfig;
  reportingConfig: ReportingConfig;
  unenrollmentPolicy: ApiUnenrollmentPolicy;
  createdAt: Date;
  updatedAt: Date;
}

export async function toEnrollmentViews(
  tx: TransactionSql,
  rows: readonly EnrollmentRow[],
): Promise<EnrollmentView[]> {
  const parties = await findEnrollmentParties(
    tx,
    rows.map((row) => row.id),
  );
  const configs = rows.map((row) => parseStoredConfigs(row));
  const publicIds = await findAccountPublicIds(
    tx,
    configs.flatMap((c) => c.unenrollmentPolicy.notify_accounts),
  );
  return rows.map((row, index) => {
    const party = parties.get(row.id);
    const config = configs[index];
    if (!party || !config) throw new AppError("INTERNAL", "enrollment parties not visible");
    return {
      publicId: row.publicId,
      devicePublicId: party.devicePublicId,
      tier: row.tier,
      status: row.status,
      ownerPublicId: party.ownerPublicId,
      enrolledByPublicId: party.enrolledByPublicId,
      organizationPublicId: party.organizationPublicId,
      protectionConfig: config.protectionConfig,
      reportingConfig: config.reportingConfig,
      unenrollmentPolicy: toApiPolicy(config.unenrollmentPolicy, row.tier, publicIds),
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  });
}

export async function toEnrollmentView(tx: TransactionSql, row: EnrollmentRow): Promise<EnrollmentView> {
  const [view] = await toEnrollmentViews(tx, [row]);
  if (!view) throw new AppError("INTERNAL", "enrollment view missing");
  return view;
}

export interface ChangeView {
  field: string;
  oldValue: unknown;
  newValue: unknown;
  direction: ChangeDirection;
}

/** notify_accounts values are account ids in storage; the API shows public ids. */
function publicValue(field: string, value: unknown, publicIds: ReadonlyMap<number, string>): unknown {
  if (field !== NOTIFY_ACCOUNTS_FIELD || !Array.isArray(value)) return value;
  return value.map((id) => (typeof id === "number" ? (publicIds.get(id) ?? null) : id));
}

function notifyIdsOf(
  changes: ReadonlyArray<{ field: string; oldValue: unknown; newValue: unknown }>,
): number[] {
  return changes
    .filter((change) => change.field === NOTIFY_ACCOUNTS_FIELD)
    .flatMap((change) => [change.oldValue, change.newValue])
    .flatMap((value) =>
      Array.isArray(value) ? value.filter((id): id is number => typeof id === "number") : [],
    );
}

export async function toChangeViews(
  tx: TransactionSql,
  changes: readonly FieldChange[],
): Promise<ChangeView[]> {
  const publicIds = await findAccountPublicIds(tx, notifyIdsOf(changes));
  return changes.map((change) => ({
    field: change.field,
    oldValue: publicValue(change.field, change.oldValue, publicIds),
    newValue: publicValue(change.field, change.newValue, publicIds),
    direction: change.direction,
  }));
}

export function storedToFieldChanges(changes: readonly StoredFieldChange[]): FieldChange[] {
  return changes.map((change) => ({
    field: change.field,
    oldValue: change.old_value,
    newValue: change.new_value,
    direction: classifyChange(change.field, change.old_value, change.new_value),
  }));
}

export interface RequestView {
  kind: RequestKind;
  publicId: string;
  enrollmentPublicId: string;
  tier: EnrollmentTier;
  status: RequestStatus;
  requestedByPublicId: string;
  requiredApproverPublicId: string | null;
  decidedByPublicId: string | null;
  requestedAt: Date;
  decidedAt: Date | null;
  delayUntil: Date | null;
  /** Config change requests: the loosening changes it would apply. */
  changes: ChangeView[];
}

export async function toRequestViews(
  tx: TransactionSql,
  requests: ReadonlyArray<{ request: EnrollmentRequestRow; enrollment: EnrollmentRow }>,
): Promise<RequestView[]> {
  const changeLists = requests.map(({ request }) => storedToFieldChanges(request.changes));
  const publicIds = await findAccountPublicIds(tx, [
    ...requests.flatMap(({ request }) => [
      request.requestedByAccountId,
      ...(request.requiredApproverAccountId === null ? [] : [request.requiredApproverAccountId]),
      ...(request.approvedByAccountId === null ? [] : [request.approvedByAccountId]),
    ]),
    ...changeLists.flatMap((changes) => notifyIdsOf(changes)),
  ]);
  const id = (accountId: number | null) => (accountId === null ? null : (publicIds.get(accountId) ?? null));
  return requests.map(({ request, enrollment }, index) => ({
    kind: request.kind,
    publicId: request.publicId,
    enrollmentPublicId: enrollment.publicId,
    tier: enrollment.tier,
    status: request.status,
    requestedByPublicId: id(request.requestedByAccountId) ?? "",
    requiredApproverPublicId: id(request.requiredApproverAccountId),
    decidedByPublicId: id(request.approvedByAccountId),
    requestedAt: request.requestedAt,
    decidedAt: request.approvedAt,
    delayUntil: request.delayUntil,
    changes: (changeLists[index] ?? []).map((change) => ({
      field: change.field,
      oldValue: publicValue(change.field, change.oldValue, publicIds),
      newValue: publicValue(change.field, change.newValue, publicIds),
      direction: change.direction,
    })),
  }));
}

// ---------------------------------------------------------------------------------------------------------
// Events and notifications

export type UnenrollStage = "requested" | "approved" | "denied" | "expired" | "cancelled" | "completed";

/** One `unenroll` event (spec 9.4 project-defined shape), validated against the common schema. */
export function unenrollEvent(
  enrollment: EnrollmentRow,
  stage: UnenrollStage,
  options: { requestId: number; actorAccountId: number | null; delayUntil?: Date | null; at: Date },
) {
  const metadata = unenrollEventMetadataSchema.parse({
    stage,
    request_id: options.requestId,
    actor_account_id: options.actorAccountId,
    ...(options.delayUntil ? { delay_until: options.delayUntil.toISOString() } : {}),
  });
  return {
    deviceId: enrollment.deviceId,
    enrollmentId: enrollment.id,
    eventType: "unenroll" as const,
    metadata,
    createdAt: options.at,
    visibleToAuthority: true,
  };
}

/**
 * Writes one config_change event per changed field (spec 9.4). Visible to the partner/authority when
 * config changes were reported to them before or after the change (so switching that reporting off is
 * itself reported).
 */
export async function writeConfigChangeEvents(
  tx: TransactionSql,
  enrollment: EnrollmentRow,
  changes: readonly FieldChange[],
  options: { changedByAccountId: number | null; at: Date; reportedBefore: boolean; reportedAfter: boolean },
): Promise<void> {
  await insertEnrollmentEvents(
    tx,
    changes.map((change) => ({
      deviceId: enrollment.deviceId,
      enrollmentId: enrollment.id,
      eventType: "config_change" as const,
      metadata: configChangeEventMetadataSchema.parse({
        field: change.field,
        old_value: change.oldValue ?? null,
        new_value: change.newValue ?? null,
        changed_by_account_id: options.changedByAccountId,
      }),
      createdAt: options.at,
      visibleToAuthority: options.reportedBefore || options.reportedAfter,
    })),
  );
}

/** The accounts that decide a request of this enrollment: the partner, or every admin of the organization. */
export async function approverAccountIds(tx: TransactionSql, loaded: LoadedEnrollment): Promise<number[]> {
  switch (loaded.row.tier) {
    case "self":
      return [];
    case "partner":
      return [loaded.row.enrolledByAccountId];
    case "authority": {
      const admins =
        loaded.row.organizationId === null ? [] : await findEnrollmentOrgAdminIds(tx, loaded.row.id);
      return admins.length > 0 ? admins : [loaded.row.enrolledByAccountId];
    }
  }
}

/** Enqueues one notification of `kind` per distinct recipient, skipping `except` (the actor). */
export async function notify(
  tx: TransactionSql,
  recipients: readonly number[],
  kind: string,
  payload: Record<string, unknown>,
  options: { at: Date; except?: number | null },
): Promise<void> {
  const unique = [...new Set(recipients)].filter((id) => id !== options.except);
  const rows: NotificationInput[] = unique.map((accountId) => ({
    accountId,
    kind,
    payload,
    createdAt: options.at,
  }));
  await enqueueNotifications(tx, rows);
}

// ---------------------------------------------------------------------------------------------------------
// Database refusals

interface PgError {
  code?: unknown;
  constraint_name?: unknown;
}

/**
 * A unique violation is a CONFLICT with `conflictMessage`; a refusal by row-level security or a guard
 * trigger (42501) is FORBIDDEN (the service should have refused first: this is the second wall holding).
 * Anything else is rethrown unchanged.
 */
export function translateDatabaseError(error: unknown, conflictMessage: string): never {
  const code = (error as PgError | null)?.code;
  if (code === "23505") throw new AppError("CONFLICT", conflictMessage, undefined, { cause: error });
  if (code === "42501") {
    throw new AppError("FORBIDDEN", "not allowed for this account", undefined, { cause: error });
  }
  throw error;
}

export function notFound(what: string): AppError {
  return new AppError("NOT_FOUND", `${what} not found`);
}

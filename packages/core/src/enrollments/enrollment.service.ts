/**
 * Enrollments: create, list, read, and change configuration. Used by the API inside the request's
 * transaction (one per request, as the acting account under row-level security); throws AppError, knows
 * nothing about HTTP. Unenrollment and the approval of loosening changes are in unenroll.service.ts.
 *
 * Creating, per tier (consent rules, see enrollment.policy.ts and migration 0020):
 *   self       the device owner; enrolled_by = owner
 *   partner    the owner naming an ACTIVE partner of a relationship the owner initiated, or that partner for
 *              the owner's device; enrolled_by = the partner (so the partner sees it)
 *   authority  an admin of a court/therapy organization, for a device whose owner is a member;
 *              enrolled_by = that admin, organization recorded
 * Changing configuration: every changed field is classified by the tighten/loosen table (config-change.ts).
 * Tightening and neutral changes apply at once; loosening by the owner becomes a pending config change
 * request that needs the same approval as unenrolling (partner/authority decides; self tier: the delay).
 * The approver side (the partner, an organization admin) loosens at once: it is their approval to give.
 * Every applied change writes one config_change event per field.
 */

import type { UnenrollmentPolicy } from "@betblocker/common/config/unenrollment-policy.schema";
import { AppError } from "@betblocker/common/errors/app-error";
import type { TransactionSql } from "@betblocker/db/client";
import type { AccountProfile } from "@betblocker/db/repositories/account.repository";
import {
  type EnrollmentRow,
  type EnrollmentTier,
  findAccountPublicIds,
  findEnrollableDevice,
  findEnrollmentByPublicId,
  findRelatedAccounts,
  insertEnrollment,
  listEnrollmentsOf,
  updateEnrollmentConfigs,
} from "@betblocker/db/repositories/enrollment.repository";
import { findOrganizationByPublicId, isMember } from "@betblocker/db/repositories/organization.repository";
import {
  findCounterpartAccountId,
  hasActivePartnership,
} from "@betblocker/db/repositories/partner.repository";
import {
  type EnrollmentRequestRow,
  findPendingRequest,
  insertRequest,
} from "@betblocker/db/repositories/unenroll-request.repository";
import type { Clock } from "../auth/clock";
import { type ConfigName, diffConfig, type FieldChange, mergeConfigPatch } from "./config-change";
import { decodeCursor, encodeCursor, type Page } from "./cursor";
import { can, type PolicyActor } from "./enrollment.policy";
import {
  type ApiUnenrollmentPolicy,
  parseApiUnenrollmentPolicy,
  parseProtectionConfig,
  parseReportingConfig,
  parseStoredUnenrollmentPolicy,
  type StoredConfigs,
  toApiPolicy,
  validationFailed,
} from "./enrollment-config";
import {
  approverAccountIds,
  type ChangeView,
  type EnrollmentView,
  type LoadedEnrollment,
  loadParties,
  loadPolicyActor,
  notFound,
  notify,
  type RequestView,
  toChangeViews,
  toEnrollmentView,
  toEnrollmentViews,
  toRequestViews,
  translateDatabaseError,
  writeConfigChangeEvents,
} from "./enrollment-support";

export interface CreateEnrollmentInput {
  devicePublicId: string;
  tier: EnrollmentTier;
  /** Partner tier, when the owner enrolls: the partner's account public id. */
  partnerAccountPublicId?: string | null;
  /** Authority tier: the organization's public id. */
  organizationPublicId?: string | null;
  protectionConfig?: unknown;
  reportingConfig?: unknown;
  unenrollmentPolicy?: unknown;
}

export interface UpdateEnrollmentInput {
  protectionConfig?: unknown;
  reportingConfig?: unknown;
  unenrollmentPolicy?: unknown;
}

export interface UpdateEnrollmentResult {
  enrollment: EnrollmentView;
  /** Changes applied now (tightening, neutral, or loosening by the approver side). */
  applied: ChangeView[];
  /** Loosening changes waiting for approval (or the self-tier delay); null when there are none. */
  pendingChangeRequest: RequestView | null;
}

export interface ListEnrollmentsInput {
  limit: number;
  cursor?: string;
}

export interface EnrollmentService {
  create(tx: TransactionSql, account: AccountProfile, input: CreateEnrollmentInput): Promise<EnrollmentView>;
  list(
    tx: TransactionSql,
    account: AccountProfile,
    input: ListEnrollmentsInput,
  ): Promise<Page<EnrollmentView>>;
  get(tx: TransactionSql, account: AccountProfile, publicId: string): Promise<EnrollmentView>;
  update(
    tx: TransactionSql,
    account: AccountProfile,
    publicId: string,
    input: UpdateEnrollmentInput,
  ): Promise<UpdateEnrollmentResult>;
}

const HOUR_MS = 3_600_000;

function fieldError(path: string, message: string): AppError {
  return validationFailed([{ path, message }]);
}

/**
 * notify_accounts (public ids) -> account ids. Ids already on the stored policy are kept as they are (an
 * account that was related when it was added stays valid); new ones must be related to the device owner.
 */
async function resolveNotifyAccounts(
  tx: TransactionSql,
  policy: ApiUnenrollmentPolicy,
  context: { ownerAccountId: number; organizationId: number | null; known: ReadonlyMap<string, number> },
): Promise<number[]> {
  const unknown = policy.notify_accounts.filter((publicId) => !context.known.has(publicId));
  const related = await findRelatedAccounts(tx, context.ownerAccountId, context.organizationId, unknown);
  const problems: Array<{ path: string; message: string }> = [];
  const ids = policy.notify_accounts.map((publicId, index) => {
    const id = context.known.get(publicId) ?? related.get(publicId);
    if (id === undefined) {
      problems.push({
        path: `unenrollment_policy.notify_accounts[${index}]`,
        message:
          "must be the device owner, one of the owner's active accountability partners, or a member of the " +
          "enrollment's organization",
      });
    }
    return id ?? 0;
  });
  if (problems.length > 0) throw validationFailed(problems);
  return ids;
}

function storedPolicy(
  policy: ApiUnenrollmentPolicy,
  tier: EnrollmentTier,
  notifyIds: number[],
): UnenrollmentPolicy {
  return { ...policy, approval_required_by: tier, notify_accounts: notifyIds };
}

/** Applies field changes (stored form) to configs; the result must validate. */
export function applyFieldChanges(configs: StoredConfigs, changes: readonly FieldChange[]): StoredConfigs {
  let protection: unknown = configs.protectionConfig;
  let reporting: unknown = configs.reportingConfig;
  let policy: unknown = configs.unenrollmentPolicy;
  for (const change of changes) {
    const [name, ...path] = change.field.split(".");
    const patch = path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), change.newValue);
    if (name === "protection_config") protection = mergeConfigPatch(protection, patch);
    else if (name === "reporting_config") reporting = mergeConfigPatch(reporting, patch);
    else if (name === "unenrollment_policy") policy = mergeConfigPatch(policy, patch);
    else throw new AppError("INTERNAL", `unknown config field ${change.field}`);
  }
  return {
    protectionConfig: parseProtectionConfig(protection),
    reportingConfig: parseReportingConfig(reporting),
    unenrollmentPolicy: parseStoredUnenrollmentPolicy(policy),
  };
}

/**
 * Writes new configs and one config_change event per changed field; notifies the owner when someone else
 * changed their enrollment. Returns the updated row.
 */
export async function applyConfigChanges(
  tx: TransactionSql,
  loaded: LoadedEnrollment,
  next: StoredConfigs,
  options: { changedByAccountId: number | null; actorAccountId: number | null; now: Date },
): Promise<{ row: EnrollmentRow; changes: FieldChange[] }> {
  const changes = [
    ...diffConfig("protection_config", loaded.configs.protectionConfig, next.protectionConfig),
    ...diffConfig("reporting_config", loaded.configs.reportingConfig, next.reportingConfig),
    ...diffConfig("unenrollment_policy", loaded.configs.unenrollmentPolicy, next.unenrollmentPolicy),
  ];
  if (changes.length === 0) return { row: loaded.row, changes };
  const row = await updateEnrollmentConfigs(tx, loaded.row.id, next, options.now);
  await writeConfigChangeEvents(tx, row, changes, {
    changedByAccountId: options.changedByAccountId,
    at: options.now,
    reportedBefore: loaded.configs.reportingConfig.report_to_authority.config_changes,
    reportedAfter: next.reportingConfig.report_to_authority.config_changes,
  });
  if (options.actorAccountId !== loaded.parties.ownerAccountId) {
    await notify(
      tx,
      [loaded.parties.ownerAccountId],
      "enrollment_config_changed",
      { enrollment_id: row.publicId, fields: changes.map((change) => change.field) },
      { at: options.now, except: options.actorAccountId },
    );
  }
  return { row, changes };
}

export function createEnrollmentService(deps: { clock: Clock }): EnrollmentService {
  const { clock } = deps;

  async function loadVisible(
    tx: TransactionSql,
    actor: PolicyActor,
    publicId: string,
    forUpdate: boolean,
  ): Promise<LoadedEnrollment> {
    const row = await findEnrollmentByPublicId(tx, publicId, { forUpdate });
    if (!row) throw notFound("enrollment");
    const loaded = await loadParties(tx, row);
    if (!can(actor, "view", loaded.resource)) throw notFound("enrollment");
    return loaded;
  }

  /** Who will be enrolled_by, and the facts the policy needs, for a new enrollment. */
  async function resolveCreation(
    tx: TransactionSql,
    actor: PolicyActor,
    input: CreateEnrollmentInput,
    ownerAccountId: number,
  ) {
    switch (input.tier) {
      case "self":
        if (input.partnerAccountPublicId) throw fieldError("partner_account_id", "only for the partner tier");
        if (input.organizationPublicId) throw fieldError("organization_id", "only for the authority tier");
        return {
          enrolledBy: actor.accountId,
          organizationId: null,
          creation: {
            tier: "self" as const,
            ownerAccountId,
            enrolledByAccountId: actor.accountId,
            ownerInitiatedActivePartnership: false,
            organization: null,
            ownerIsOrganizationMember: false,
          },
        };
      case "partner": {
        if (input.organizationPublicId) throw fieldError("organization_id", "only for the authority tier");
        let partnerId: number;
        if (actor.accountId === ownerAccountId) {
          if (!input.partnerAccountPublicId) {
            throw fieldError(
              "partner_account_id",
              "required: the active accountability partner to enroll with",
            );
          }
          const counterpart = await findCounterpartAccountId(tx, input.partnerAccountPublicId);
          if (counterpart === null) {
            throw new AppError("FORBIDDEN", "the named account is not your active accountability partner");
          }
          partnerId = counterpart;
        } else {
          // A partner enrolling is always enrolled_by itself; naming anyone else is a mistake.
          partnerId = actor.accountId;
          if (input.partnerAccountPublicId) {
            const own = await findAccountPublicIds(tx, [actor.accountId]);
            if (own.get(actor.accountId) !== input.partnerAccountPublicId) {
              throw fieldError("partner_account_id", "a partner enrolling a device enrolls it as itself");
            }
          }
        }
        const active = await hasActivePartnership(tx, ownerAccountId, partnerId);
        return {
          enrolledBy: partnerId,
          organizationId: null,
          creation: {
            tier: "partner" as const,
            ownerAccountId,
            enrolledByAccountId: partnerId,
            ownerInitiatedActivePartnership: active,
            organization: null,
            ownerIsOrganizationMember: false,
          },
        };
      }
      case "authority": {
        if (input.partnerAccountPublicId) throw fieldError("partner_account_id", "only for the partner tier");
        if (!input.organizationPublicId) {
          throw fieldError(
            "organization_id",
            "required: the court or therapy organization enrolling the device",
          );
        }
        const organization = await findOrganizationByPublicId(
          tx,
          actor.accountId,
          input.organizationPublicId,
        );
        if (!organization) throw notFound("organization");
        if (organization.type !== "court" && organization.type !== "therapy") {
          throw fieldError("organization_id", "must be a court or therapy organization");
        }
        return {
          enrolledBy: actor.accountId,
          organizationId: organization.id,
          creation: {
            tier: "authority" as const,
            ownerAccountId,
            enrolledByAccountId: actor.accountId,
            ownerInitiatedActivePartnership: false,
            organization: { id: organization.id, type: organization.type },
            ownerIsOrganizationMember: await isMember(tx, organization.id, ownerAccountId),
          },
        };
      }
    }
  }

  return {
    async create(tx, account, input) {
      const now = clock();
      const actor = await loadPolicyActor(tx, account);
      const protectionConfig = parseProtectionConfig(input.protectionConfig);
      const reportingConfig = parseReportingConfig(input.reportingConfig);
      const apiPolicy = parseApiUnenrollmentPolicy(input.unenrollmentPolicy, input.tier);

      const device = await findEnrollableDevice(tx, input.devicePublicId);
      if (!device) throw notFound("device");
      if (device.status === "decommissioned") throw new AppError("CONFLICT", "the device is decommissioned");

      const resolved = await resolveCreation(tx, actor, input, device.ownerAccountId);
      if (!can(actor, "create", resolved.creation)) {
        const reason =
          input.tier === "self"
            ? "only the device owner can put a device under self protection"
            : input.tier === "partner"
              ? "a partner enrollment needs an active partnership that the device owner started"
              : "an authority enrollment needs an admin of the organization and a device owner who is a member";
        throw new AppError("FORBIDDEN", reason);
      }
      const notifyIds = await resolveNotifyAccounts(tx, apiPolicy, {
        ownerAccountId: device.ownerAccountId,
        organizationId: resolved.organizationId,
        known: new Map(),
      });

      let row: EnrollmentRow;
      try {
        row = await insertEnrollment(tx, {
          deviceId: device.deviceId,
          enrolledByAccountId: resolved.enrolledBy,
          organizationId: resolved.organizationId,
          tier: input.tier,
          protectionConfig,
          reportingConfig,
          unenrollmentPolicy: storedPolicy(apiPolicy, input.tier, notifyIds),
          createdAt: now,
        });
      } catch (error) {
        translateDatabaseError(error, "the device already has an enrollment that is not finished");
      }
      if (device.ownerAccountId !== actor.accountId) {
        const ids = await findAccountPublicIds(tx, [actor.accountId]);
        await notify(
          tx,
          [device.ownerAccountId],
          "enrollment_created",
          { enrollment_id: row.publicId, tier: row.tier, enrolled_by: ids.get(actor.accountId) ?? null },
          { at: now },
        );
      }
      return toEnrollmentView(tx, row);
    },

    async list(tx, account, input) {
      const after = decodeCursor(input.cursor);
      const rows = await listEnrollmentsOf(tx, account.id, {
        limit: input.limit + 1,
        after: after ? { createdAt: after.at, publicId: after.publicId } : null,
      });
      const page = rows.slice(0, input.limit);
      const last = page[page.length - 1];
      return {
        items: await toEnrollmentViews(tx, page),
        nextCursor:
          rows.length > input.limit && last
            ? encodeCursor({ at: last.createdAt, publicId: last.publicId })
            : null,
      };
    },

    async get(tx, account, publicId) {
      const actor = await loadPolicyActor(tx, account);
      const loaded = await loadVisible(tx, actor, publicId, false);
      return toEnrollmentView(tx, loaded.row);
    },

    async update(tx, account, publicId, input) {
      const now = clock();
      const actor = await loadPolicyActor(tx, account);
      const loaded = await loadVisible(tx, actor, publicId, true);
      const { row, configs } = loaded;
      if (row.status === "unenrolled") throw new AppError("CONFLICT", "the enrollment has ended");
      if (!can(actor, "update", loaded.resource)) {
        throw new AppError("FORBIDDEN", "only the device owner or the enrollment's approver can change it");
      }

      // Current policy in API form, the PATCH merged into each config, validated with body paths.
      const currentIds = await findAccountPublicIds(tx, configs.unenrollmentPolicy.notify_accounts);
      const known = new Map([...currentIds].map(([id, publicId]) => [publicId, id]));
      const nextProtection =
        input.protectionConfig === undefined
          ? configs.protectionConfig
          : parseProtectionConfig(mergeConfigPatch(configs.protectionConfig, input.protectionConfig));
      const nextReporting =
        input.reportingConfig === undefined
          ? configs.reportingConfig
          : parseReportingConfig(mergeConfigPatch(configs.reportingConfig, input.reportingConfig));
      let nextPolicy = configs.unenrollmentPolicy;
      if (input.unenrollmentPolicy !== undefined) {
        const currentApi = toApiPolicy(configs.unenrollmentPolicy, row.tier, currentIds);
        const mergedApi = parseApiUnenrollmentPolicy(
          mergeConfigPatch(currentApi, input.unenrollmentPolicy),
          row.tier,
        );
        const notifyIds = await resolveNotifyAccounts(tx, mergedApi, {
          ownerAccountId: loaded.parties.ownerAccountId,
          organizationId: row.organizationId,
          known,
        });
        nextPolicy = storedPolicy(mergedApi, row.tier, notifyIds);
      }

      const changes: Array<FieldChange & { config: ConfigName }> = [
        ...diffConfig("protection_config", configs.protectionConfig, nextProtection),
        ...diffConfig("reporting_config", configs.reportingConfig, nextReporting),
        ...diffConfig("unenrollment_policy", configs.unenrollmentPolicy, nextPolicy),
      ].map((change) => ({ ...change, config: change.field.split(".")[0] as ConfigName }));

      const direct = can(actor, "loosenDirectly", loaded.resource);
      const immediate = direct ? changes : changes.filter((change) => change.direction !== "loosens");
      const deferred = direct ? [] : changes.filter((change) => change.direction === "loosens");

      let pending: EnrollmentRequestRow | null = null;
      if (deferred.length > 0) {
        if (!can(actor, "requestUnenroll", loaded.resource)) {
          throw new AppError("FORBIDDEN", "only the device owner can ask for a loosening change");
        }
        if (await findPendingRequest(tx, "config_change", row.id)) {
          throw new AppError(
            "CONFLICT",
            "a configuration change is already waiting for approval; cancel it or wait for the decision",
          );
        }
        const approver = row.tier === "self" ? null : row.enrolledByAccountId;
        try {
          pending = await insertRequest(tx, "config_change", {
            enrollmentId: row.id,
            requestedByAccountId: actor.accountId,
            requiredApproverAccountId: approver,
            requestedAt: now,
            // The delay in force now, not a shorter one the same PATCH asks for.
            delayUntil:
              row.tier === "self"
                ? new Date(now.getTime() + configs.unenrollmentPolicy.delay_hours * HOUR_MS)
                : null,
            changes: deferred.map((change) => ({
              field: change.field,
              old_value: change.oldValue ?? null,
              new_value: change.newValue ?? null,
            })),
          });
        } catch (error) {
          translateDatabaseError(error, "a configuration change is already waiting for approval");
        }
        await notify(
          tx,
          await approverAccountIds(tx, loaded),
          "config_change_requested",
          {
            enrollment_id: row.publicId,
            request_id: pending.publicId,
            fields: deferred.map((change) => change.field),
            delay_until: pending.delayUntil?.toISOString() ?? null,
          },
          { at: now, except: actor.accountId },
        );
      }

      let updatedRow = row;
      let applied: FieldChange[] = [];
      if (immediate.length > 0) {
        const validated = applyFieldChanges(configs, immediate);
        const result = await applyConfigChanges(tx, loaded, validated, {
          changedByAccountId: actor.accountId,
          actorAccountId: actor.accountId,
          now,
        });
        updatedRow = result.row;
        applied = result.changes;
      }

      const [pendingView] = pending ? await toRequestViews(tx, [{ request: pending, enrollment: row }]) : [];
      return {
        enrollment: await toEnrollmentView(tx, updatedRow),
        applied: await toChangeViews(tx, applied),
        pendingChangeRequest: pendingView ?? null,
      };
    },
  };
}

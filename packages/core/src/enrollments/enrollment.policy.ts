/**
 * Who may do what with an enrollment and its requests: `can(actor, action, resource)`, pure and declarative
 * (outline server/policies). Services load the facts (the device owner, the actor's organization admin
 * roles) and ask; row-level security and the triggers of migration 0020 are the second wall.
 *
 * Roles around an enrollment:
 *   owner     the account that owns the device (the protected user)
 *   approver  who decides unenrollment and loosening: nobody for the self tier (the delay decides), the
 *             enrolling partner for the partner tier, any current admin of the enrollment's organization for
 *             the authority tier. A platform admin is NOT an approver: the promise made to a partner or a
 *             court is not the operator's to break through the API.
 */
import type { AccountRole } from "@betblocker/db/repositories/account.repository";
import type { EnrollmentStatus, EnrollmentTier } from "@betblocker/db/repositories/enrollment.repository";
import type { RequestStatus } from "@betblocker/db/repositories/unenroll-request.repository";

export interface PolicyActor {
  accountId: number;
  role: AccountRole;
  /** Organizations in which the actor is an admin. */
  adminOrganizationIds: ReadonlySet<number>;
}

export interface EnrollmentResource {
  tier: EnrollmentTier;
  status: EnrollmentStatus;
  ownerAccountId: number;
  enrolledByAccountId: number;
  organizationId: number | null;
}

export interface RequestResource {
  enrollment: EnrollmentResource;
  requestedByAccountId: number;
  requiredApproverAccountId: number | null;
  status: RequestStatus;
}

/** A proposed new enrollment, with the facts the service looked up. */
export interface EnrollmentCreation {
  tier: EnrollmentTier;
  ownerAccountId: number;
  /** Who will be enrolled_by (self: the owner; partner: the partner; authority: the admin). */
  enrolledByAccountId: number;
  /** Partner tier: the owner made enrolled_by its partner and that partner accepted. */
  ownerInitiatedActivePartnership: boolean;
  /** Authority tier: the organization, as far as the actor can see it. */
  organization: { id: number; type: "family" | "therapy" | "court" | "enterprise" } | null;
  /** Authority tier: the device owner is a member of that organization. */
  ownerIsOrganizationMember: boolean;
}

export type EnrollmentAction =
  /** See the enrollment and its configuration. */
  | "view"
  /** Change its configuration at all (what needs approval is decided by the tighten/loosen table). */
  | "update"
  /** Loosen its configuration without a request (the approver side). */
  | "loosenDirectly"
  /** File an unenroll request or a loosening config change request (the owner). */
  | "requestUnenroll";

export type RequestAction =
  | "viewRequest"
  /** Partner/authority tier: approve or deny. */
  | "approveUnenroll"
  | "denyUnenroll"
  /** Self tier: complete after the delay (the requester). */
  | "completeUnenroll"
  | "cancelUnenroll";

export type CreationAction = "create";

/** Is the actor an approver of the enrollment? */
export function isApprover(actor: PolicyActor, enrollment: EnrollmentResource): boolean {
  switch (enrollment.tier) {
    case "self":
      return false;
    case "partner":
      return actor.accountId === enrollment.enrolledByAccountId;
    case "authority":
      return enrollment.organizationId === null
        ? actor.accountId === enrollment.enrolledByAccountId
        : actor.adminOrganizationIds.has(enrollment.organizationId);
  }
}

function isOwner(actor: PolicyActor, enrollment: EnrollmentResource): boolean {
  return actor.accountId === enrollment.ownerAccountId;
}

function canOnEnrollment(
  actor: PolicyActor,
  action: EnrollmentAction,
  enrollment: EnrollmentResource,
): boolean {
  switch (action) {
    case "view":
      return (
        isOwner(actor, enrollment) ||
        actor.accountId === enrollment.enrolledByAccountId ||
        isApprover(actor, enrollment) ||
        actor.role === "admin"
      );
    case "update":
      return (
        enrollment.status !== "unenrolled" && (isOwner(actor, enrollment) || isApprover(actor, enrollment))
      );
    case "loosenDirectly":
      return enrollment.status !== "unenrolled" && isApprover(actor, enrollment);
    case "requestUnenroll":
      return enrollment.status !== "unenrolled" && isOwner(actor, enrollment);
  }
}

function canOnRequest(actor: PolicyActor, action: RequestAction, request: RequestResource): boolean {
  const { enrollment } = request;
  const isRequester = actor.accountId === request.requestedByAccountId;
  switch (action) {
    case "viewRequest":
      return (
        isRequester ||
        actor.accountId === request.requiredApproverAccountId ||
        isApprover(actor, enrollment) ||
        actor.role === "admin"
      );
    case "approveUnenroll":
    case "denyUnenroll":
      return (
        request.status === "pending" &&
        enrollment.tier !== "self" &&
        isApprover(actor, enrollment) &&
        // Partner tier: the partner named on the request (it is enrolled_by, see migration 0020).
        (enrollment.tier === "authority" || actor.accountId === request.requiredApproverAccountId)
      );
    case "completeUnenroll":
      return request.status === "pending" && enrollment.tier === "self" && isRequester;
    case "cancelUnenroll":
      return request.status === "pending" && isRequester;
  }
}

function canCreate(actor: PolicyActor, creation: EnrollmentCreation): boolean {
  switch (creation.tier) {
    case "self":
      return (
        actor.accountId === creation.ownerAccountId &&
        creation.enrolledByAccountId === creation.ownerAccountId
      );
    case "partner":
      // Consent: the owner initiated the partnership and the partner accepted; either of them may then put
      // the owner's device under it, and the partner is always enrolled_by.
      return (
        creation.enrolledByAccountId !== creation.ownerAccountId &&
        (actor.accountId === creation.ownerAccountId || actor.accountId === creation.enrolledByAccountId) &&
        creation.ownerInitiatedActivePartnership
      );
    case "authority":
      // Consent: the owner accepted membership of the organization.
      return (
        creation.organization !== null &&
        (creation.organization.type === "court" || creation.organization.type === "therapy") &&
        actor.accountId === creation.enrolledByAccountId &&
        actor.adminOrganizationIds.has(creation.organization.id) &&
        creation.ownerIsOrganizationMember
      );
  }
}

export function can(actor: PolicyActor, action: EnrollmentAction, resource: EnrollmentResource): boolean;
export function can(actor: PolicyActor, action: RequestAction, resource: RequestResource): boolean;
export function can(actor: PolicyActor, action: CreationAction, resource: EnrollmentCreation): boolean;
export function can(
  actor: PolicyActor,
  action: EnrollmentAction | RequestAction | CreationAction,
  resource: EnrollmentResource | RequestResource | EnrollmentCreation,
): boolean {
  switch (action) {
    case "create":
      return canCreate(actor, resource as EnrollmentCreation);
    case "viewRequest":
    case "approveUnenroll":
    case "denyUnenroll":
    case "completeUnenroll":
    case "cancelUnenroll":
      return canOnRequest(actor, action, resource as RequestResource);
    default:
      return canOnEnrollment(actor, action, resource as EnrollmentResource);
  }
}

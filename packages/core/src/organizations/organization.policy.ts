/**
 * Who may do what with an organization: `can(actor, action, organization)`, pure. Members see the
 * organization and its members; only its admins manage it (invite, change roles, remove). Creating a court
 * or therapy organization needs the account role 'authority' (or 'admin'): their admins can put members'
 * devices under policies the member cannot lift. Row-level security (migration 0018) enforces the same.
 */
import type { AccountRole } from "@betblocker/db/repositories/account.repository";
import type { OrgMemberRole, OrgType } from "@betblocker/db/repositories/organization.repository";

export interface OrganizationActor {
  accountId: number;
  role: AccountRole;
}

export interface OrganizationResource {
  type: OrgType;
  /** The actor's role in the organization, null when not a member. */
  actorRole: OrgMemberRole | null;
}

export interface MembershipResource {
  organization: OrganizationResource;
  memberAccountId: number;
}

export type OrganizationAction = "create" | "view" | "manage";
export type MembershipAction = "changeRole" | "remove";

export function can(
  actor: OrganizationActor,
  action: OrganizationAction,
  resource: OrganizationResource,
): boolean;
export function can(
  actor: OrganizationActor,
  action: MembershipAction,
  resource: MembershipResource,
): boolean;
export function can(
  actor: OrganizationActor,
  action: OrganizationAction | MembershipAction,
  resource: OrganizationResource | MembershipResource,
): boolean {
  switch (action) {
    case "create": {
      const { type } = resource as OrganizationResource;
      return (
        type === "family" || type === "enterprise" || actor.role === "authority" || actor.role === "admin"
      );
    }
    case "view":
      return (resource as OrganizationResource).actorRole !== null || actor.role === "admin";
    case "manage":
      return (resource as OrganizationResource).actorRole === "admin";
    case "changeRole":
      return (resource as MembershipResource).organization.actorRole === "admin";
    case "remove": {
      const membership = resource as MembershipResource;
      // Admins remove anyone; a member may leave.
      return membership.organization.actorRole === "admin" || membership.memberAccountId === actor.accountId;
    }
  }
}

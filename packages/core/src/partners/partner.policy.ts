/**
 * Who may do what with an accountability partnership: `can(actor, action, partnership)`, pure. The
 * transition trigger of migration 0017 enforces the same rules in the database.
 *
 * A partnership is asymmetric: the protected user (account_id) invited the partner (partner_account_id).
 * Only the invited party accepts; either party revokes; only the inviter withdraws an invitation that has
 * not reached an account yet.
 */
import type { InvitationStatus, PartnerStatus } from "@betblocker/db/repositories/partner.repository";

export interface PartnershipResource {
  accountId: number;
  partnerAccountId: number;
  status: PartnerStatus;
}

export interface InvitationResource {
  inviterAccountId: number;
  status: InvitationStatus;
}

export type PartnershipAction = "accept" | "revoke";
export type InvitationAction = "withdraw";

export function can(
  actor: { accountId: number },
  action: PartnershipAction,
  resource: PartnershipResource,
): boolean;
export function can(
  actor: { accountId: number },
  action: InvitationAction,
  resource: InvitationResource,
): boolean;
export function can(
  actor: { accountId: number },
  action: PartnershipAction | InvitationAction,
  resource: PartnershipResource | InvitationResource,
): boolean {
  switch (action) {
    case "accept": {
      const partnership = resource as PartnershipResource;
      return partnership.status === "invited" && actor.accountId === partnership.partnerAccountId;
    }
    case "revoke": {
      const partnership = resource as PartnershipResource;
      return (
        (partnership.status === "invited" || partnership.status === "active") &&
        (actor.accountId === partnership.accountId || actor.accountId === partnership.partnerAccountId)
      );
    }
    case "withdraw": {
      const invitation = resource as InvitationResource;
      return invitation.status === "pending" && actor.accountId === invitation.inviterAccountId;
    }
  }
}

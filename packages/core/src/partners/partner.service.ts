/**
 * Accountability partners: invite by e-mail address, list both directions, accept, revoke, accept by the
 * mailed token, and (for the worker) expire invitations. Throws AppError; knows nothing about HTTP.
 *
 * Enumeration: inviting answers the same way whether or not the address has an account. The inviter sees
 * the address they typed until the invitation is accepted; only then the partner's account (public id, name).
 * Invitations to an address without a (verified) account are converted into a partnership when that account
 * uses the partner API with a verified address (claim), or when anyone signed in presents the token.
 *
 * Revoking a partnership does not end partner-tier enrollments made under it: the partner still decides
 * their unenrollment (otherwise revoking would be a way around the partner's approval).
 */
import { AppError } from "@betblocker/common/errors/app-error";
import type { Sql, TransactionSql } from "@betblocker/db/client";
import { withActor } from "@betblocker/db/context";
import type { AccountProfile } from "@betblocker/db/repositories/account.repository";
import { enqueueNotifications } from "@betblocker/db/repositories/notification.repository";
import {
  acceptPartnerInvitationToken,
  claimPartnerInvitations,
  expirePartnerInvitationsBatch,
  findInvitationByPublicId,
  findPartnerRelationship,
  invitePartner,
  listPartnerRelationships,
  listUnconvertedInvitations,
  lockPartnerRelationship,
  type PartnerInvitationRow,
  type PartnerRelationshipRow,
  type PartnerStatus,
  revokePartnerInvitation,
  updatePartnerRelationshipStatus,
} from "@betblocker/db/repositories/partner.repository";
import type { Clock } from "../auth/clock";
import { emailSchema } from "../auth/email";
import { hashSecretToken, isWellFormedSecretToken, newSecretToken } from "../auth/secret-token";
import { ENROLLMENT_SYSTEM_ACTOR } from "../enrollments/system-actor";
import { can } from "./partner.policy";

export const DEFAULT_PARTNER_INVITATION_TTL_DAYS = 7;

export interface PartnerView {
  publicId: string;
  /** The effective status: an invitation past its expiry reads as expired before the worker marks it. */
  status: PartnerStatus;
  invitedBy: "me" | "them";
  /** In this partnership the actor is the protected user (inviter) or the accountability partner. */
  myRole: "protected_user" | "partner";
  /** The other party's address: the address invited (outgoing) or the inviter's (incoming). */
  email: string;
  /** The other party's account; null for an outgoing invitation that has not been accepted. */
  counterpart: { publicId: string; email: string; displayName: string | null } | null;
  invitedAt: Date;
  acceptedAt: Date | null;
  expiresAt: Date | null;
}

export interface InviteResult {
  partner: PartnerView;
  /** The token mailed to the address. Secret: shown by the API only in development mode. */
  invitationToken: string;
}

export interface PartnerService {
  invite(tx: TransactionSql, account: AccountProfile, email: string): Promise<InviteResult>;
  list(tx: TransactionSql, account: AccountProfile): Promise<PartnerView[]>;
  accept(tx: TransactionSql, account: AccountProfile, publicId: string): Promise<PartnerView>;
  revoke(tx: TransactionSql, account: AccountProfile, publicId: string): Promise<PartnerView>;
  acceptToken(tx: TransactionSql, account: AccountProfile, token: string): Promise<PartnerView>;
}

function effectiveStatus(status: PartnerStatus, expiresAt: Date | null, now: Date): PartnerStatus {
  return status === "invited" && expiresAt !== null && expiresAt.getTime() <= now.getTime()
    ? "expired"
    : status;
}

function relationshipView(row: PartnerRelationshipRow, me: number, now: Date): PartnerView {
  const outgoing = row.accountId === me;
  const revealed = !outgoing || row.acceptedAt !== null;
  return {
    publicId: row.publicId,
    status: effectiveStatus(row.status, row.expiresAt, now),
    invitedBy: outgoing ? "me" : "them",
    myRole: outgoing ? "protected_user" : "partner",
    email: outgoing && !revealed ? (row.invitationEmail ?? row.counterpart.email) : row.counterpart.email,
    counterpart: revealed
      ? {
          publicId: row.counterpart.publicId,
          email: row.counterpart.email,
          displayName: row.counterpart.displayName,
        }
      : null,
    invitedAt: row.invitedAt,
    acceptedAt: row.acceptedAt,
    expiresAt: row.expiresAt,
  };
}

const INVITATION_STATUS: Record<PartnerInvitationRow["status"], PartnerStatus> = {
  pending: "invited",
  accepted: "active",
  revoked: "revoked",
  expired: "expired",
};

function invitationView(row: PartnerInvitationRow, now: Date): PartnerView {
  return {
    publicId: row.publicId,
    status: effectiveStatus(INVITATION_STATUS[row.status], row.expiresAt, now),
    invitedBy: "me",
    myRole: "protected_user",
    email: row.email,
    counterpart: null,
    invitedAt: row.createdAt,
    acceptedAt: row.acceptedAt,
    expiresAt: row.expiresAt,
  };
}

function tokenError(message: string): AppError {
  return new AppError("VALIDATION_FAILED", `invalid request: token: ${message}`, {
    fieldErrors: [{ path: "token", message }],
  });
}

export function createPartnerService(deps: { clock: Clock; invitationTtlDays?: number }): PartnerService {
  const { clock } = deps;
  const ttlMs = (deps.invitationTtlDays ?? DEFAULT_PARTNER_INVITATION_TTL_DAYS) * 86_400_000;

  async function reload(tx: TransactionSql, account: AccountProfile, publicId: string): Promise<PartnerView> {
    const row = await findPartnerRelationship(tx, account.id, publicId);
    if (!row) throw new AppError("NOT_FOUND", "partner not found");
    return relationshipView(row, account.id, clock());
  }

  return {
    async invite(tx, account, rawEmail) {
      const parsed = emailSchema.safeParse(rawEmail);
      if (!parsed.success) {
        throw new AppError("VALIDATION_FAILED", "invalid request: email: must be a valid e-mail address", {
          fieldErrors: [{ path: "email", message: "must be a valid e-mail address" }],
        });
      }
      const email = parsed.data;
      const now = clock();
      const expiresAt = new Date(now.getTime() + ttlMs);
      const token = newSecretToken();
      const result = await invitePartner(tx, { email, tokenHash: token.hash, now, expiresAt });
      switch (result.outcome) {
        case "self":
          throw new AppError("VALIDATION_FAILED", "invalid request: email: you cannot be your own partner", {
            fieldErrors: [{ path: "email", message: "you cannot be your own partner" }],
          });
        // One answer for both: which of the two it is would tell whether the address has an account.
        case "duplicate":
        case "already_partnered":
          throw new AppError(
            "CONFLICT",
            "this address already has a pending invitation or a partnership with you",
          );
        case "invited":
          break;
      }
      const publicId = result.invitationPublicId as string;
      // Addressed by e-mail only, whether or not the address has an account (no enumeration by side effects).
      await enqueueNotifications(tx, [
        {
          accountId: null,
          kind: "partner_invitation",
          payload: {
            email,
            token: token.token,
            invitation_id: publicId,
            inviter_email: account.email,
            inviter_display_name: account.displayName,
            expires_at: expiresAt.toISOString(),
          },
          createdAt: now,
        },
      ]);
      return {
        partner: {
          publicId,
          status: "invited",
          invitedBy: "me",
          myRole: "protected_user",
          email,
          counterpart: null,
          invitedAt: now,
          acceptedAt: null,
          expiresAt,
        },
        invitationToken: token.token,
      };
    },

    async list(tx, account) {
      const now = clock();
      await claimPartnerInvitations(tx, now);
      const relationships = await listPartnerRelationships(tx, account.id);
      const invitations = await listUnconvertedInvitations(tx, account.id);
      return [
        ...relationships.map((row) => relationshipView(row, account.id, now)),
        ...invitations.map((row) => invitationView(row, now)),
      ].sort((a, b) => b.invitedAt.getTime() - a.invitedAt.getTime() || (a.publicId < b.publicId ? 1 : -1));
    },

    async accept(tx, account, publicId) {
      const now = clock();
      await claimPartnerInvitations(tx, now);
      const row = await findPartnerRelationship(tx, account.id, publicId);
      if (!row) {
        const invitation = await findInvitationByPublicId(tx, publicId);
        if (invitation && invitation.inviterAccountId === account.id) {
          throw new AppError("FORBIDDEN", "only the invited party can accept an invitation");
        }
        throw new AppError("NOT_FOUND", "partner not found");
      }
      if (row.accountId === account.id) {
        throw new AppError("FORBIDDEN", "only the invited party can accept an invitation");
      }
      const status = await lockPartnerRelationship(tx, row.id);
      if (!can({ accountId: account.id }, "accept", { ...row, status: status ?? row.status })) {
        throw new AppError("CONFLICT", `the partnership is ${status ?? row.status}, not awaiting acceptance`);
      }
      if (row.expiresAt !== null && row.expiresAt.getTime() <= now.getTime()) {
        throw new AppError("CONFLICT", "the invitation has expired; ask for a new one");
      }
      await updatePartnerRelationshipStatus(tx, row.id, "active", now);
      await enqueueNotifications(tx, [
        {
          accountId: row.accountId,
          kind: "partner_accepted",
          payload: { partner_id: row.publicId },
          createdAt: now,
        },
      ]);
      return reload(tx, account, publicId);
    },

    async revoke(tx, account, publicId) {
      const now = clock();
      const row = await findPartnerRelationship(tx, account.id, publicId);
      if (!row) {
        const invitation = await findInvitationByPublicId(tx, publicId, { forUpdate: true });
        if (!invitation || invitation.inviterAccountId !== account.id) {
          throw new AppError("NOT_FOUND", "partner not found");
        }
        if (!can({ accountId: account.id }, "withdraw", invitation)) {
          throw new AppError("CONFLICT", `the invitation is ${invitation.status}`);
        }
        await revokePartnerInvitation(tx, invitation.id);
        return invitationView({ ...invitation, status: "revoked" }, now);
      }
      const status = await lockPartnerRelationship(tx, row.id);
      if (!can({ accountId: account.id }, "revoke", { ...row, status: status ?? row.status })) {
        throw new AppError("CONFLICT", `the partnership is already ${status ?? row.status}`);
      }
      await updatePartnerRelationshipStatus(tx, row.id, "revoked");
      const other = row.accountId === account.id ? row.partnerAccountId : row.accountId;
      await enqueueNotifications(tx, [
        { accountId: other, kind: "partner_revoked", payload: { partner_id: row.publicId }, createdAt: now },
      ]);
      return reload(tx, account, publicId);
    },

    async acceptToken(tx, account, token) {
      if (!isWellFormedSecretToken(token)) throw tokenError("invalid, used or expired invitation token");
      const now = clock();
      const result = await acceptPartnerInvitationToken(tx, hashSecretToken(token), now);
      switch (result.outcome) {
        case "invalid":
        case "expired":
          throw tokenError("invalid, used or expired invitation token");
        case "self":
          throw tokenError("this is your own invitation; the invited person accepts it");
        case "taken":
          throw new AppError("CONFLICT", "this invitation belongs to another account");
        case "accepted":
          break;
      }
      const view = await reload(tx, account, result.relationshipPublicId as string);
      const row = await findPartnerRelationship(tx, account.id, view.publicId);
      if (row) {
        await enqueueNotifications(tx, [
          {
            accountId: row.accountId,
            kind: "partner_accepted",
            payload: { partner_id: row.publicId },
            createdAt: now,
          },
        ]);
      }
      return view;
    },
  };
}

/**
 * Worker job: expires partner invitations past their expiry at `now` (and the partnerships still waiting
 * for acceptance that came from them), as the system, in bounded batches. Idempotent.
 */
export async function expirePartnerInvitations(
  sql: Sql,
  now: Date,
  options: { batchSize?: number; maxBatches?: number } = {},
): Promise<{ invitations: number; relationships: number }> {
  const batchSize = options.batchSize ?? 500;
  const maxBatches = options.maxBatches ?? 10;
  const total = { invitations: 0, relationships: 0 };
  for (let batch = 0; batch < maxBatches; batch += 1) {
    const done = await withActor(sql, ENROLLMENT_SYSTEM_ACTOR, (tx) =>
      expirePartnerInvitationsBatch(tx, now, batchSize),
    );
    total.invitations += done.invitations;
    total.relationships += done.relationships;
    if (done.invitations < batchSize) break;
  }
  return total;
}

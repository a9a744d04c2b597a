/**
 * Organizations (family, therapy, court, enterprise): create, list, members, invitations by e-mail address,
 * role changes and removal. Only members see an organization (others get NOT_FOUND); only its admins manage
 * it. Membership needs the invitee's acceptance: it is what allows an organization's admins to enroll a
 * member's device under the authority tier (court, therapy). An organization always keeps an admin.
 *
 * Leaving an organization does not end enrollments it made: the organization still decides them.
 */
import { AppError } from "@betblocker/common/errors/app-error";
import type { Sql, TransactionSql } from "@betblocker/db/client";
import { withActor } from "@betblocker/db/context";
import type { AccountProfile } from "@betblocker/db/repositories/account.repository";
import { enqueueNotifications } from "@betblocker/db/repositories/notification.repository";
import {
  acceptOrganizationInvitation,
  createOrganization,
  expireOrganizationInvitationsBatch,
  findOrganizationByPublicId,
  insertOrganizationInvitation,
  listInvitationsForCurrentAccount,
  listOrganizationMembers,
  listOrganizationsOf,
  listPendingOrganizationInvitations,
  lockMemberships,
  type MemberRow,
  type MyInvitationRow,
  type OrganizationInvitationRow,
  type OrganizationRow,
  type OrgMemberRole,
  type OrgType,
  removeMember,
  updateMemberRole,
} from "@betblocker/db/repositories/organization.repository";
import type { Clock } from "../auth/clock";
import { emailSchema } from "../auth/email";
import { hashSecretToken, isWellFormedSecretToken, newSecretToken } from "../auth/secret-token";
import { ENROLLMENT_SYSTEM_ACTOR } from "../enrollments/system-actor";
import { can, type OrganizationResource } from "./organization.policy";

export const DEFAULT_ORGANIZATION_INVITATION_TTL_DAYS = 14;

export interface OrganizationView {
  publicId: string;
  name: string;
  type: OrgType;
  myRole: OrgMemberRole | null;
  createdAt: Date;
}

export interface MemberView {
  accountPublicId: string;
  email: string;
  displayName: string | null;
  role: OrgMemberRole;
  joinedAt: Date;
}

export interface OrganizationInvitationView {
  publicId: string;
  email: string;
  role: OrgMemberRole;
  createdAt: Date;
  expiresAt: Date;
}

export interface MyOrganizationInvitationView {
  publicId: string;
  organization: { publicId: string; name: string; type: OrgType };
  role: OrgMemberRole;
  createdAt: Date;
  expiresAt: Date;
}

export interface OrganizationService {
  create(
    tx: TransactionSql,
    account: AccountProfile,
    input: { name: string; type: OrgType },
  ): Promise<OrganizationView>;
  list(tx: TransactionSql, account: AccountProfile): Promise<OrganizationView[]>;
  get(tx: TransactionSql, account: AccountProfile, publicId: string): Promise<OrganizationView>;
  listMembers(
    tx: TransactionSql,
    account: AccountProfile,
    publicId: string,
  ): Promise<{ members: MemberView[]; invitations: OrganizationInvitationView[] }>;
  inviteMember(
    tx: TransactionSql,
    account: AccountProfile,
    publicId: string,
    input: { email: string; role: OrgMemberRole },
  ): Promise<{ invitation: OrganizationInvitationView; invitationToken: string }>;
  changeRole(
    tx: TransactionSql,
    account: AccountProfile,
    publicId: string,
    memberPublicId: string,
    role: OrgMemberRole,
  ): Promise<MemberView>;
  removeMember(
    tx: TransactionSql,
    account: AccountProfile,
    publicId: string,
    memberPublicId: string,
  ): Promise<void>;
  listMyInvitations(tx: TransactionSql, account: AccountProfile): Promise<MyOrganizationInvitationView[]>;
  acceptInvitation(
    tx: TransactionSql,
    account: AccountProfile,
    by: { invitationPublicId: string } | { token: string },
  ): Promise<OrganizationView>;
}

function toView(row: OrganizationRow): OrganizationView {
  return {
    publicId: row.publicId,
    name: row.name,
    type: row.type,
    myRole: row.myRole,
    createdAt: row.createdAt,
  };
}

function toMemberView(row: MemberRow): MemberView {
  return {
    accountPublicId: row.publicId,
    email: row.email,
    displayName: row.displayName,
    role: row.role,
    joinedAt: row.joinedAt,
  };
}

function toInvitationView(row: OrganizationInvitationRow): OrganizationInvitationView {
  return {
    publicId: row.publicId,
    email: row.email,
    role: row.role,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
  };
}

function toMyInvitationView(row: MyInvitationRow): MyOrganizationInvitationView {
  return {
    publicId: row.invitationPublicId,
    organization: {
      publicId: row.organizationPublicId,
      name: row.organizationName,
      type: row.organizationType,
    },
    role: row.role,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
  };
}

function actorOf(account: AccountProfile) {
  return { accountId: account.id, role: account.role };
}

function resource(row: OrganizationRow): OrganizationResource {
  return { type: row.type, actorRole: row.myRole };
}

function invalidToken(): AppError {
  return new AppError(
    "VALIDATION_FAILED",
    "invalid request: token: invalid, used or expired invitation token",
    {
      fieldErrors: [{ path: "token", message: "invalid, used or expired invitation token" }],
    },
  );
}

export function createOrganizationService(deps: {
  clock: Clock;
  invitationTtlDays?: number;
}): OrganizationService {
  const { clock } = deps;
  const ttlMs = (deps.invitationTtlDays ?? DEFAULT_ORGANIZATION_INVITATION_TTL_DAYS) * 86_400_000;

  /** An organization the actor is a member of (a platform admin sees any); NOT_FOUND otherwise. */
  async function loadVisible(
    tx: TransactionSql,
    account: AccountProfile,
    publicId: string,
  ): Promise<OrganizationRow> {
    const row = await findOrganizationByPublicId(tx, account.id, publicId);
    if (!row || !can(actorOf(account), "view", resource(row)))
      throw new AppError("NOT_FOUND", "organization not found");
    return row;
  }

  async function loadManaged(
    tx: TransactionSql,
    account: AccountProfile,
    publicId: string,
  ): Promise<OrganizationRow> {
    const row = await loadVisible(tx, account, publicId);
    if (!can(actorOf(account), "manage", resource(row))) {
      throw new AppError("FORBIDDEN", "only an admin of the organization can manage it");
    }
    return row;
  }

  async function memberByPublicId(tx: TransactionSql, organizationId: number, memberPublicId: string) {
    const member = (await listOrganizationMembers(tx, organizationId)).find(
      (m) => m.publicId === memberPublicId,
    );
    if (!member) throw new AppError("NOT_FOUND", "member not found");
    return member;
  }

  return {
    async create(tx, account, input) {
      if (!can(actorOf(account), "create", { type: input.type, actorRole: null })) {
        throw new AppError(
          "FORBIDDEN",
          "court and therapy organizations can only be created by an authority account; ask the operator",
        );
      }
      const created = await createOrganization(tx, { name: input.name, type: input.type, now: clock() });
      if (!created)
        throw new AppError("FORBIDDEN", "this account cannot create an organization of this type");
      return toView(await loadVisible(tx, account, created.publicId));
    },

    async list(tx, account) {
      return (await listOrganizationsOf(tx, account.id)).map(toView);
    },

    async get(tx, account, publicId) {
      return toView(await loadVisible(tx, account, publicId));
    },

    async listMembers(tx, account, publicId) {
      const org = await loadVisible(tx, account, publicId);
      const members = (await listOrganizationMembers(tx, org.id)).map(toMemberView);
      const invitations = can(actorOf(account), "manage", resource(org))
        ? (await listPendingOrganizationInvitations(tx, org.id)).map(toInvitationView)
        : [];
      return { members, invitations };
    },

    async inviteMember(tx, account, publicId, input) {
      const org = await loadManaged(tx, account, publicId);
      const parsed = emailSchema.safeParse(input.email);
      if (!parsed.success) {
        throw new AppError("VALIDATION_FAILED", "invalid request: email: must be a valid e-mail address", {
          fieldErrors: [{ path: "email", message: "must be a valid e-mail address" }],
        });
      }
      const now = clock();
      const token = newSecretToken();
      const invitation = await insertOrganizationInvitation(tx, {
        organizationId: org.id,
        email: parsed.data,
        role: input.role,
        tokenHash: token.hash,
        invitedByAccountId: account.id,
        now,
        expiresAt: new Date(now.getTime() + ttlMs),
      });
      if (!invitation) throw new AppError("CONFLICT", "an invitation to this address is already pending");
      await enqueueNotifications(tx, [
        {
          accountId: null,
          kind: "organization_invitation",
          payload: {
            email: invitation.email,
            token: token.token,
            invitation_id: invitation.publicId,
            organization_name: org.name,
            organization_type: org.type,
            role: invitation.role,
            expires_at: invitation.expiresAt.toISOString(),
          },
          createdAt: now,
        },
      ]);
      return { invitation: toInvitationView(invitation), invitationToken: token.token };
    },

    async changeRole(tx, account, publicId, memberPublicId, role) {
      const org = await loadVisible(tx, account, publicId);
      const member = await memberByPublicId(tx, org.id, memberPublicId);
      if (
        !can(actorOf(account), "changeRole", {
          organization: resource(org),
          memberAccountId: member.accountId,
        })
      ) {
        throw new AppError("FORBIDDEN", "only an admin of the organization can change roles");
      }
      const memberships = await lockMemberships(tx, org.id);
      const admins = memberships.filter((m) => m.role === "admin");
      if (role === "member" && member.role === "admin" && admins.length <= 1) {
        throw new AppError("CONFLICT", "an organization must keep at least one admin");
      }
      await updateMemberRole(tx, org.id, member.accountId, role);
      return toMemberView({ ...member, role });
    },

    async removeMember(tx, account, publicId, memberPublicId) {
      const org = await loadVisible(tx, account, publicId);
      const member = await memberByPublicId(tx, org.id, memberPublicId);
      if (
        !can(actorOf(account), "remove", { organization: resource(org), memberAccountId: member.accountId })
      ) {
        throw new AppError("FORBIDDEN", "only an admin of the organization can remove members");
      }
      const memberships = await lockMemberships(tx, org.id);
      const admins = memberships.filter((m) => m.role === "admin");
      if (member.role === "admin" && admins.length <= 1) {
        throw new AppError("CONFLICT", "an organization must keep at least one admin");
      }
      if (!(await removeMember(tx, org.id, member.accountId)))
        throw new AppError("NOT_FOUND", "member not found");
    },

    async listMyInvitations(tx, _account) {
      return (await listInvitationsForCurrentAccount(tx, clock())).map(toMyInvitationView);
    },

    async acceptInvitation(tx, account, by) {
      if ("token" in by && !isWellFormedSecretToken(by.token)) throw invalidToken();
      const result = await acceptOrganizationInvitation(tx, {
        invitationPublicId: "invitationPublicId" in by ? by.invitationPublicId : null,
        tokenHash: "token" in by ? hashSecretToken(by.token) : null,
        now: clock(),
      });
      if (result.outcome === "invalid" || result.outcome === "expired") {
        if ("token" in by) throw invalidToken();
        throw new AppError(
          result.outcome === "expired" ? "CONFLICT" : "NOT_FOUND",
          result.outcome === "expired" ? "the invitation has expired" : "invitation not found",
        );
      }
      const org = (await listOrganizationsOf(tx, account.id)).find((o) => o.id === result.organizationId);
      if (!org) throw new AppError("INTERNAL", "joined organization not visible");
      return toView(org);
    },
  };
}

/** Worker job: expires organization invitations past their expiry at `now`, as the system. Idempotent. */
export async function expireOrganizationInvitations(
  sql: Sql,
  now: Date,
  options: { batchSize?: number; maxBatches?: number } = {},
): Promise<{ invitations: number }> {
  const batchSize = options.batchSize ?? 500;
  const maxBatches = options.maxBatches ?? 10;
  let invitations = 0;
  for (let batch = 0; batch < maxBatches; batch += 1) {
    const done = await withActor(sql, ENROLLMENT_SYSTEM_ACTOR, (tx) =>
      expireOrganizationInvitationsBatch(tx, now, batchSize),
    );
    invitations += done;
    if (done < batchSize) break;
  }
  return { invitations };
}

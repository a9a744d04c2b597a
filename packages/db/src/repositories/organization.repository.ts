/**
 * organizations, organization_members and organization_invitations (migrations 0003, 0018). Creating an
 * organization, reading members' profiles and accepting invitations go through the SECURITY DEFINER
 * functions of 0018; everything else runs as the actor under the row-level security of 0018 (members read,
 * admins manage).
 */
import type { Queryable, TransactionSql } from "../client";

export type OrgType = "family" | "therapy" | "court" | "enterprise";
export type OrgMemberRole = "admin" | "member";

export interface OrganizationRow {
  id: number;
  publicId: string;
  name: string;
  type: OrgType;
  createdAt: Date;
  /** The acting account's role in it (null for a platform admin who is not a member). */
  myRole: OrgMemberRole | null;
}

interface OrgRow {
  id: number;
  public_id: string;
  name: string;
  type: OrgType;
  created_at: Date;
  my_role: OrgMemberRole | null;
}

function toOrganization(row: OrgRow): OrganizationRow {
  return {
    id: row.id,
    publicId: row.public_id,
    name: row.name,
    type: row.type,
    createdAt: row.created_at,
    myRole: row.my_role,
  };
}

/** Null when the account may not create an organization of this type (court/therapy need role authority). */
export async function createOrganization(
  tx: TransactionSql,
  input: { name: string; type: OrgType; now: Date },
): Promise<{ id: number; publicId: string } | null> {
  const [row] = await tx<{ organization_id: number; public_id: string }[]>`
    select organization_id, public_id from org_create(${input.name}, ${input.type}::org_type, ${input.now})`;
  return row ? { id: row.organization_id, publicId: row.public_id } : null;
}

/** Organizations the account is a member of, oldest membership first. */
export async function listOrganizationsOf(sql: Queryable, accountId: number): Promise<OrganizationRow[]> {
  const rows = await sql<OrgRow[]>`
    select o.id, o.public_id, o.name::text as name, o.type::text as type, o.created_at, m.role::text as my_role
    from organizations o join organization_members m on m.organization_id = o.id and m.account_id = ${accountId}
    order by m.joined_at, o.id`;
  return rows.map(toOrganization);
}

/** An organization visible to the actor (member, or platform admin), with the actor's role. */
export async function findOrganizationByPublicId(
  sql: Queryable,
  accountId: number,
  publicId: string,
): Promise<OrganizationRow | null> {
  const [row] = await sql<OrgRow[]>`
    select o.id, o.public_id, o.name::text as name, o.type::text as type, o.created_at,
           (select m.role::text from organization_members m
             where m.organization_id = o.id and m.account_id = ${accountId}) as my_role
    from organizations o where o.public_id = ${publicId}::uuid`;
  return row ? toOrganization(row) : null;
}

export interface MemberRow {
  accountId: number;
  publicId: string;
  email: string;
  displayName: string | null;
  role: OrgMemberRole;
  joinedAt: Date;
}

/** Members with their public profile (org_member_profiles: for members of the organization only). */
export async function listOrganizationMembers(sql: Queryable, organizationId: number): Promise<MemberRow[]> {
  const rows = await sql<
    {
      account_id: number;
      public_id: string;
      email: string;
      display_name: string | null;
      role: OrgMemberRole;
      joined_at: Date;
    }[]
  >`select account_id, public_id, email, display_name, role::text as role, joined_at
    from org_member_profiles(${organizationId})`;
  return rows.map((row) => ({
    accountId: row.account_id,
    publicId: row.public_id,
    email: row.email,
    displayName: row.display_name,
    role: row.role,
    joinedAt: row.joined_at,
  }));
}

/** Locks the organization's membership rows (FOR UPDATE) and returns them: role changes serialize. */
export async function lockMemberships(
  tx: TransactionSql,
  organizationId: number,
): Promise<Array<{ accountId: number; role: OrgMemberRole }>> {
  const rows = await tx<{ account_id: number; role: OrgMemberRole }[]>`
    select account_id, role::text as role from organization_members
    where organization_id = ${organizationId} order by id for update`;
  return rows.map((row) => ({ accountId: row.account_id, role: row.role }));
}

export async function updateMemberRole(
  tx: TransactionSql,
  organizationId: number,
  accountId: number,
  role: OrgMemberRole,
): Promise<boolean> {
  const result = await tx`
    update organization_members set role = ${role}::org_member_role
    where organization_id = ${organizationId} and account_id = ${accountId}`;
  return result.count === 1;
}

export async function removeMember(
  tx: TransactionSql,
  organizationId: number,
  accountId: number,
): Promise<boolean> {
  const result = await tx`
    delete from organization_members where organization_id = ${organizationId} and account_id = ${accountId}`;
  return result.count === 1;
}

/** Ids of the organizations the account administers. */
export async function findAdminOrganizationIds(sql: Queryable, accountId: number): Promise<number[]> {
  const rows = await sql<{ organization_id: number }[]>`
    select organization_id from organization_members where account_id = ${accountId} and role = 'admin'`;
  return rows.map((row) => row.organization_id);
}

/** Whether the account is a member (any role) of the organization (as far as the actor may see). */
export async function isMember(sql: Queryable, organizationId: number, accountId: number): Promise<boolean> {
  const [row] = await sql<{ ok: boolean }[]>`
    select exists (select 1 from organization_members
                   where organization_id = ${organizationId} and account_id = ${accountId}) as ok`;
  return row?.ok ?? false;
}

export interface OrganizationInvitationRow {
  id: number;
  publicId: string;
  organizationId: number;
  email: string;
  role: OrgMemberRole;
  status: "pending" | "accepted" | "revoked" | "expired";
  createdAt: Date;
  expiresAt: Date;
}

interface InvitationRow {
  id: number;
  public_id: string;
  organization_id: number;
  email: string;
  role: OrgMemberRole;
  status: OrganizationInvitationRow["status"];
  created_at: Date;
  expires_at: Date;
}

function toInvitation(row: InvitationRow): OrganizationInvitationRow {
  return {
    id: row.id,
    publicId: row.public_id,
    organizationId: row.organization_id,
    email: row.email,
    role: row.role,
    status: row.status,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

const INVITATION_COLUMNS =
  "id, public_id, organization_id, email::text as email, role::text as role, status::text as status, created_at, expires_at";

/** An admin invites an address; null when a pending invitation to that address exists already. */
export async function insertOrganizationInvitation(
  tx: TransactionSql,
  input: {
    organizationId: number;
    email: string;
    role: OrgMemberRole;
    tokenHash: Buffer;
    invitedByAccountId: number;
    now: Date;
    expiresAt: Date;
  },
): Promise<OrganizationInvitationRow | null> {
  const [row] = await tx<InvitationRow[]>`
    insert into organization_invitations (organization_id, email, role, token_hash, invited_by_account_id,
                                          created_at, expires_at)
    values (${input.organizationId}, ${input.email}, ${input.role}::org_member_role, ${input.tokenHash},
            ${input.invitedByAccountId}, ${input.now}, ${input.expiresAt})
    on conflict (organization_id, email) where status = 'pending' do nothing
    returning ${tx.unsafe(INVITATION_COLUMNS)}`;
  return row ? toInvitation(row) : null;
}

/** Pending invitations of an organization (admins). */
export async function listPendingOrganizationInvitations(
  sql: Queryable,
  organizationId: number,
): Promise<OrganizationInvitationRow[]> {
  const rows = await sql<InvitationRow[]>`
    select ${sql.unsafe(INVITATION_COLUMNS)} from organization_invitations
    where organization_id = ${organizationId} and status = 'pending' order by created_at, id`;
  return rows.map(toInvitation);
}

export interface MyInvitationRow {
  invitationPublicId: string;
  organizationPublicId: string;
  organizationName: string;
  organizationType: OrgType;
  role: OrgMemberRole;
  createdAt: Date;
  expiresAt: Date;
}

/** Pending invitations addressed to the actor's verified address. */
export async function listInvitationsForCurrentAccount(
  sql: Queryable,
  now: Date,
): Promise<MyInvitationRow[]> {
  const rows = await sql<
    {
      invitation_public_id: string;
      organization_public_id: string;
      organization_name: string;
      organization_type: OrgType;
      role: OrgMemberRole;
      created_at: Date;
      expires_at: Date;
    }[]
  >`select invitation_public_id, organization_public_id, organization_name,
           organization_type::text as organization_type, role::text as role, created_at, expires_at
    from org_invitations_for_current(${now})`;
  return rows.map((row) => ({
    invitationPublicId: row.invitation_public_id,
    organizationPublicId: row.organization_public_id,
    organizationName: row.organization_name,
    organizationType: row.organization_type,
    role: row.role,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  }));
}

export type AcceptOrgInvitationOutcome = "accepted" | "already_member" | "invalid" | "expired";

export async function acceptOrganizationInvitation(
  tx: TransactionSql,
  input: { invitationPublicId: string | null; tokenHash: Buffer | null; now: Date },
): Promise<{ outcome: AcceptOrgInvitationOutcome; organizationId: number | null }> {
  const [row] = await tx<{ outcome: AcceptOrgInvitationOutcome; organization_id: number | null }[]>`
    select outcome, organization_id
    from org_accept_invitation(${input.invitationPublicId}::uuid, ${input.tokenHash}, ${input.now})`;
  if (!row) throw new Error("org_accept_invitation returned no row");
  return { outcome: row.outcome, organizationId: row.organization_id };
}

/** System (worker): expires pending invitations past `now`; returns how many. */
export async function expireOrganizationInvitationsBatch(
  tx: TransactionSql,
  now: Date,
  limit: number,
): Promise<number> {
  const result = await tx`
    update organization_invitations set status = 'expired'
    where id in (select id from organization_invitations
                 where status = 'pending' and expires_at <= ${now}
                 order by expires_at, id limit ${limit} for update skip locked)`;
  return result.count;
}

/**
 * partner_relationships and partner_invitations (migrations 0003, 0017). Inviting, converting invitations
 * and accepting by token go through the SECURITY DEFINER functions of 0017 (they must look at accounts the
 * actor cannot see); everything else runs as the actor under row-level security, with the transition
 * trigger of 0017 as the second wall.
 */
import type { Queryable, TransactionSql } from "../client";

export type PartnerStatus = "invited" | "active" | "revoked" | "expired";
export type InvitationStatus = "pending" | "accepted" | "revoked" | "expired";

export type InviteOutcome = "invited" | "self" | "duplicate" | "already_partnered";

export interface InvitePartnerInput {
  /** Normalized (trimmed, lower-case). */
  email: string;
  /** SHA-256 (32 bytes) of the token mailed to the address. */
  tokenHash: Buffer;
  now: Date;
  expiresAt: Date;
}

export async function invitePartner(
  tx: TransactionSql,
  input: InvitePartnerInput,
): Promise<{ outcome: InviteOutcome; invitationPublicId: string | null }> {
  const [row] = await tx<{ outcome: InviteOutcome; invitation_public_id: string | null }[]>`
    select outcome, invitation_public_id
    from partner_invite(${input.email}, ${input.tokenHash}, ${input.now}, ${input.expiresAt})`;
  if (!row) throw new Error("partner_invite returned no row");
  return { outcome: row.outcome, invitationPublicId: row.invitation_public_id };
}

/** Converts pending invitations addressed to the actor's verified address; returns how many. */
export async function claimPartnerInvitations(tx: TransactionSql, now: Date): Promise<number> {
  const [row] = await tx<{ n: number }[]>`select partner_claim_invitations(${now}) as n`;
  return row?.n ?? 0;
}

export type AcceptTokenOutcome = "accepted" | "invalid" | "expired" | "self" | "taken";

export async function acceptPartnerInvitationToken(
  tx: TransactionSql,
  tokenHash: Buffer,
  now: Date,
): Promise<{ outcome: AcceptTokenOutcome; relationshipPublicId: string | null }> {
  const [row] = await tx<{ outcome: AcceptTokenOutcome; relationship_public_id: string | null }[]>`
    select outcome, relationship_public_id from partner_accept_invitation_token(${tokenHash}, ${now})`;
  if (!row) throw new Error("partner_accept_invitation_token returned no row");
  return { outcome: row.outcome, relationshipPublicId: row.relationship_public_id };
}

export interface PartnerRelationshipRow {
  id: number;
  publicId: string;
  /** The protected user (the inviter). */
  accountId: number;
  /** The accountability partner (the invited party). */
  partnerAccountId: number;
  status: PartnerStatus;
  invitedAt: Date;
  acceptedAt: Date | null;
  /** The other party, seen from the actor. */
  counterpart: { accountId: number; publicId: string; email: string; displayName: string | null };
  /** The invitation the relationship came from (the address it was sent to, and its expiry). */
  invitationEmail: string | null;
  expiresAt: Date | null;
}

interface RelationshipRow {
  id: number;
  public_id: string;
  account_id: number;
  partner_account_id: number;
  status: PartnerStatus;
  invited_at: Date;
  accepted_at: Date | null;
  counterpart_account_id: number;
  counterpart_public_id: string;
  counterpart_email: string;
  counterpart_display_name: string | null;
  invitation_email: string | null;
  expires_at: Date | null;
}

function toRelationship(row: RelationshipRow): PartnerRelationshipRow {
  return {
    id: row.id,
    publicId: row.public_id,
    accountId: row.account_id,
    partnerAccountId: row.partner_account_id,
    status: row.status,
    invitedAt: row.invited_at,
    acceptedAt: row.accepted_at,
    counterpart: {
      accountId: row.counterpart_account_id,
      publicId: row.counterpart_public_id,
      email: row.counterpart_email,
      displayName: row.counterpart_display_name,
    },
    invitationEmail: row.invitation_email,
    expiresAt: row.expires_at,
  };
}

function relationshipQuery(sql: Queryable, accountId: number, where: ReturnType<Queryable["unsafe"]>) {
  return sql<RelationshipRow[]>`
    select r.id, r.public_id, r.account_id, r.partner_account_id, r.status::text as status, r.invited_at,
           r.accepted_at, c.counterpart_account_id, c.counterpart_public_id, c.counterpart_email,
           c.counterpart_display_name, i.email as invitation_email, i.expires_at
    from partner_relationships r
    join partner_counterparts() c on c.relationship_id = r.id
    left join lateral (
      select pi.email::text as email, pi.expires_at from partner_invitations pi
      where pi.relationship_id = r.id order by pi.id desc limit 1
    ) i on true
    where ${accountId} in (r.account_id, r.partner_account_id) ${where}
    order by r.invited_at desc, r.id desc`;
}

/** Every relationship of the account, in both directions, newest first. */
export async function listPartnerRelationships(
  sql: Queryable,
  accountId: number,
): Promise<PartnerRelationshipRow[]> {
  const rows = await relationshipQuery(sql, accountId, sql.unsafe(""));
  return rows.map(toRelationship);
}

export async function findPartnerRelationship(
  tx: TransactionSql,
  accountId: number,
  publicId: string,
): Promise<PartnerRelationshipRow | null> {
  const rows = await relationshipQuery(tx, accountId, tx`and r.public_id = ${publicId}::uuid`);
  const [row] = rows;
  return row ? toRelationship(row) : null;
}

/** Locks a relationship row (FOR UPDATE) before a transition. */
export async function lockPartnerRelationship(tx: TransactionSql, id: number): Promise<PartnerStatus | null> {
  const [row] = await tx<{ status: PartnerStatus }[]>`
    select status::text as status from partner_relationships where id = ${id} for update`;
  return row?.status ?? null;
}

/**
 * The active relationship in which `ownerAccountId` is the protected user and `partnerAccountId` the partner
 * (the owner initiated it: the consent partner-tier enrollments rest on).
 */
export async function hasActivePartnership(
  sql: Queryable,
  ownerAccountId: number,
  partnerAccountId: number,
): Promise<boolean> {
  const [row] = await sql<{ ok: boolean }[]>`
    select exists (
      select 1 from partner_relationships
      where account_id = ${ownerAccountId} and partner_account_id = ${partnerAccountId} and status = 'active'
    ) as ok`;
  return row?.ok ?? false;
}

/** The account behind a counterpart public id among the actor's relationships, or null. */
export async function findCounterpartAccountId(
  sql: Queryable,
  accountPublicId: string,
): Promise<number | null> {
  const [row] = await sql<{ id: number }[]>`
    select counterpart_account_id as id from partner_counterparts()
    where counterpart_public_id = ${accountPublicId}::uuid limit 1`;
  return row?.id ?? null;
}

export async function updatePartnerRelationshipStatus(
  tx: TransactionSql,
  id: number,
  status: PartnerStatus,
  acceptedAt: Date | null = null,
): Promise<void> {
  const result =
    status === "active"
      ? await tx`update partner_relationships set status = 'active', accepted_at = ${acceptedAt} where id = ${id}`
      : await tx`update partner_relationships set status = ${status}::partner_status where id = ${id}`;
  if (result.count !== 1) throw new Error("partner relationship not updated (row-level security?)");
}

export interface PartnerInvitationRow {
  id: number;
  publicId: string;
  inviterAccountId: number;
  email: string;
  status: InvitationStatus;
  relationshipId: number | null;
  createdAt: Date;
  expiresAt: Date;
  acceptedAt: Date | null;
}

interface InvitationRow {
  id: number;
  public_id: string;
  inviter_account_id: number;
  email: string;
  status: InvitationStatus;
  relationship_id: number | null;
  created_at: Date;
  expires_at: Date;
  accepted_at: Date | null;
}

function toInvitation(row: InvitationRow): PartnerInvitationRow {
  return {
    id: row.id,
    publicId: row.public_id,
    inviterAccountId: row.inviter_account_id,
    email: row.email,
    status: row.status,
    relationshipId: row.relationship_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    acceptedAt: row.accepted_at,
  };
}

const INVITATION_COLUMNS =
  "id, public_id, inviter_account_id, email::text as email, status::text as status, relationship_id, created_at, expires_at, accepted_at";

/** The inviter's invitations that were never converted into a relationship (addressee has not signed in). */
export async function listUnconvertedInvitations(
  sql: Queryable,
  inviterAccountId: number,
): Promise<PartnerInvitationRow[]> {
  const rows = await sql<InvitationRow[]>`
    select ${sql.unsafe(INVITATION_COLUMNS)} from partner_invitations
    where inviter_account_id = ${inviterAccountId} and relationship_id is null
    order by created_at desc, id desc`;
  return rows.map(toInvitation);
}

export async function findInvitationByPublicId(
  tx: TransactionSql,
  publicId: string,
  options: { forUpdate?: boolean } = {},
): Promise<PartnerInvitationRow | null> {
  const lock = options.forUpdate ? tx.unsafe("for update") : tx.unsafe("");
  const [row] = await tx<InvitationRow[]>`
    select ${tx.unsafe(INVITATION_COLUMNS)} from partner_invitations where public_id = ${publicId}::uuid ${lock}`;
  return row ? toInvitation(row) : null;
}

export async function revokePartnerInvitation(tx: TransactionSql, id: number): Promise<boolean> {
  const result =
    await tx`update partner_invitations set status = 'revoked' where id = ${id} and status = 'pending'`;
  return result.count === 1;
}

/**
 * System (worker): expires pending invitations past `now`, and the relationships still 'invited' that came
 * from them, in bounded batches. Returns the counts.
 */
export async function expirePartnerInvitationsBatch(
  tx: TransactionSql,
  now: Date,
  limit: number,
): Promise<{ invitations: number; relationships: number }> {
  const expired = await tx<{ relationship_id: number | null }[]>`
    update partner_invitations set status = 'expired'
    where id in (
      select id from partner_invitations
      where status = 'pending' and expires_at <= ${now}
      order by expires_at, id limit ${limit}
      for update skip locked)
    returning relationship_id`;
  const relationshipIds = expired.map((row) => row.relationship_id).filter((id): id is number => id !== null);
  let relationships = 0;
  if (relationshipIds.length > 0) {
    const result = await tx`
      update partner_relationships set status = 'expired'
      where id = any(${relationshipIds}::bigint[]) and status = 'invited'`;
    relationships = result.count;
  }
  return { invitations: expired.length, relationships };
}

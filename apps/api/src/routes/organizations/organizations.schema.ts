/** Request and response schemas of /api/v1/organizations. Request bodies are strict. */
import { orgMemberRoleSchema, orgTypeSchema } from "@betblocker/common/enums";
import { emailSchema } from "@betblocker/core/auth/email";
import type {
  MemberView,
  MyOrganizationInvitationView,
  OrganizationInvitationView,
  OrganizationView,
} from "@betblocker/core/organizations/organization.service";
import { z } from "zod";

const timestamp = z.iso.datetime({ offset: true });

export const createOrganizationBodySchema = z
  .strictObject({
    name: z
      .string()
      .trim()
      .min(1, { error: "must not be empty" })
      .max(200)
      .refine((name) => !/\p{Cc}/u.test(name), { error: "must not contain control characters" }),
    type: orgTypeSchema.meta({
      description: "family | therapy | court | enterprise. Court and therapy need an authority account.",
    }),
  })
  .meta({ id: "CreateOrganization" });

export const inviteMemberBodySchema = z
  .strictObject({ email: emailSchema, role: orgMemberRoleSchema.default("member") })
  .meta({ id: "InviteOrganizationMember" });

export const changeRoleBodySchema = z
  .strictObject({ role: orgMemberRoleSchema })
  .meta({ id: "ChangeMemberRole" });

export const memberParamsSchema = z.strictObject({
  id: z.uuid({ error: "must be a UUID" }),
  accountId: z.uuid({ error: "must be a UUID" }),
});

export const acceptTokenBodySchema = z
  .strictObject({ token: z.string().min(1).max(512) })
  .meta({ id: "AcceptOrganizationInvitation" });

export const organizationSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    type: orgTypeSchema,
    my_role: orgMemberRoleSchema.nullable(),
    created_at: timestamp,
  })
  .meta({ id: "Organization" });

export const organizationListSchema = z
  .object({ items: z.array(organizationSchema) })
  .meta({ id: "OrganizationList" });

export const memberSchema = z
  .object({
    account_id: z.uuid(),
    email: z.string(),
    display_name: z.string().nullable(),
    role: orgMemberRoleSchema,
    joined_at: timestamp,
  })
  .meta({ id: "OrganizationMember" });

export const invitationSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    role: orgMemberRoleSchema,
    created_at: timestamp,
    expires_at: timestamp,
  })
  .meta({ id: "OrganizationInvitation" });

export const inviteMemberResponseSchema = invitationSchema
  .extend({
    dev_invitation_token: z.string().optional().meta({
      description: "Development only (api.expose_dev_tokens): the token the invitation mail carries.",
    }),
  })
  .meta({ id: "OrganizationInvitationCreated" });

export const membersResponseSchema = z
  .object({
    members: z.array(memberSchema),
    invitations: z
      .array(invitationSchema)
      .meta({ description: "Pending invitations (admins only; else empty)." }),
  })
  .meta({ id: "OrganizationMembers" });

export const myInvitationSchema = z
  .object({
    id: z.uuid(),
    organization: z.object({ id: z.uuid(), name: z.string(), type: orgTypeSchema }),
    role: orgMemberRoleSchema,
    created_at: timestamp,
    expires_at: timestamp,
  })
  .meta({ id: "MyOrganizationInvitation" });

export const myInvitationListSchema = z
  .object({ items: z.array(myInvitationSchema) })
  .meta({ id: "MyOrganizationInvitationList" });

export function toOrganizationResponse(view: OrganizationView): z.infer<typeof organizationSchema> {
  return {
    id: view.publicId,
    name: view.name,
    type: view.type,
    my_role: view.myRole,
    created_at: view.createdAt.toISOString(),
  };
}

export function toMemberResponse(view: MemberView): z.infer<typeof memberSchema> {
  return {
    account_id: view.accountPublicId,
    email: view.email,
    display_name: view.displayName,
    role: view.role,
    joined_at: view.joinedAt.toISOString(),
  };
}

export function toInvitationResponse(view: OrganizationInvitationView): z.infer<typeof invitationSchema> {
  return {
    id: view.publicId,
    email: view.email,
    role: view.role,
    created_at: view.createdAt.toISOString(),
    expires_at: view.expiresAt.toISOString(),
  };
}

export function toMyInvitationResponse(
  view: MyOrganizationInvitationView,
): z.infer<typeof myInvitationSchema> {
  return {
    id: view.publicId,
    organization: {
      id: view.organization.publicId,
      name: view.organization.name,
      type: view.organization.type,
    },
    role: view.role,
    created_at: view.createdAt.toISOString(),
    expires_at: view.expiresAt.toISOString(),
  };
}

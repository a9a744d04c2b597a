/** Request and response schemas of /api/v1/partners. Request bodies are strict (unknown fields are a 400). */
import { partnerStatusSchema } from "@betblocker/common/enums";
import { emailSchema } from "@betblocker/core/auth/email";
import type { PartnerView } from "@betblocker/core/partners/partner.service";
import { z } from "zod";

export const invitePartnerBodySchema = z
  .strictObject({
    email: emailSchema.meta({
      description: "Whom to ask to be my accountability partner; trimmed, lower-cased.",
    }),
  })
  .meta({ id: "InvitePartner" });

export const acceptTokenBodySchema = z
  .strictObject({
    token: z.string().min(1).max(512).meta({ description: "The token from the invitation mail." }),
  })
  .meta({ id: "AcceptPartnerInvitation" });

const timestamp = z.iso.datetime({ offset: true });

export const partnerSchema = z
  .object({
    id: z.uuid(),
    status: partnerStatusSchema,
    invited_by: z.enum(["me", "them"]),
    my_role: z
      .enum(["protected_user", "partner"])
      .meta({ description: "protected_user: I invited them to watch over me; partner: I watch over them." }),
    email: z
      .string()
      .meta({ description: "The address invited (mine to them) or the inviter's (theirs to me)." }),
    counterpart: z
      .object({ id: z.uuid(), email: z.string(), display_name: z.string().nullable() })
      .nullable()
      .meta({ description: "The other account; null for my invitation until it is accepted." }),
    invited_at: timestamp,
    accepted_at: timestamp.nullable(),
    expires_at: timestamp.nullable().meta({ description: "When an invitation not yet accepted expires." }),
  })
  .meta({ id: "Partner" });

export const invitePartnerResponseSchema = partnerSchema
  .extend({
    dev_invitation_token: z.string().optional().meta({
      description: "Development only (api.expose_dev_tokens): the token the invitation mail carries.",
    }),
  })
  .meta({ id: "PartnerInvitation" });

export const partnerListSchema = z.object({ items: z.array(partnerSchema) }).meta({ id: "PartnerList" });

export function toPartnerResponse(view: PartnerView): z.infer<typeof partnerSchema> {
  return {
    id: view.publicId,
    status: view.status,
    invited_by: view.invitedBy,
    my_role: view.myRole,
    email: view.email,
    counterpart: view.counterpart
      ? {
          id: view.counterpart.publicId,
          email: view.counterpart.email,
          display_name: view.counterpart.displayName,
        }
      : null,
    invited_at: view.invitedAt.toISOString(),
    accepted_at: view.acceptedAt?.toISOString() ?? null,
    expires_at: view.expiresAt?.toISOString() ?? null,
  };
}

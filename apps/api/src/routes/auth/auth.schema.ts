/** Request and response schemas of /api/v1/auth. Request bodies are strict: unknown fields are a 400. */
import { displayNameSchema } from "@betblocker/core/auth/auth.service";
import { emailSchema } from "@betblocker/core/auth/email";
import {
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  passwordSchema,
} from "@betblocker/core/auth/password-policy";
import { z } from "zod";
import { accountSchema } from "../accounts/accounts.schema";

/** Opaque tokens are 43 base64url characters; anything up to 512 is looked at (and rejected as invalid). */
const opaqueToken = z.string().min(1).max(512);

export const registerBodySchema = z.strictObject({
  email: emailSchema.meta({ description: "Trimmed and lower-cased before use." }),
  password: passwordSchema.meta({
    description:
      `${PASSWORD_MIN_LENGTH}-${PASSWORD_MAX_LENGTH} characters, at least two of: lower-case, upper-case, ` +
      "digits, other characters; not one repeated character, not a very common password, not containing the " +
      "e-mail address.",
  }),
  display_name: displayNameSchema.nullish(),
});

export const registerResponseSchema = z.object({
  status: z.literal("verification_pending"),
  message: z.string(),
  dev_verification_token: z
    .string()
    .optional()
    .meta({ description: "Development only (api.expose_dev_tokens): the token the e-mail would carry." }),
});

export const verifyEmailBodySchema = z.strictObject({ token: opaqueToken });
export const verifyEmailResponseSchema = z.object({ status: z.literal("verified") });

export const loginBodySchema = z.strictObject({
  email: emailSchema,
  // No policy check on login: accounts created under older rules must still be able to sign in.
  password: z
    .string()
    .min(1)
    .max(PASSWORD_MAX_LENGTH * 4),
});

export const refreshBodySchema = z.strictObject({ refresh_token: opaqueToken });
export const logoutBodySchema = refreshBodySchema;

export const sessionResponseSchema = z
  .object({
    access_token: z.string().meta({ description: "EdDSA JWT; send as `Authorization: Bearer <token>`." }),
    token_type: z.literal("Bearer"),
    expires_in: z.int().meta({ description: "Access token lifetime in seconds." }),
    refresh_token: z.string().meta({
      description:
        "Opaque, single use: every refresh returns a new one. Presenting a used one ends the session.",
    }),
    refresh_token_expires_at: z.iso.datetime({ offset: true }),
    account: accountSchema,
  })
  .meta({ id: "Session" });

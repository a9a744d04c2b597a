/** Response shape of an account. Only these fields ever leave the API: no internal id, no password hash. */
import type { AccountProfile } from "@betblocker/db/repositories/account.repository";
import { z } from "zod";

export const accountSchema = z
  .object({
    id: z.uuid().meta({ description: "Public id of the account (never the internal numeric id)." }),
    email: z.string(),
    role: z.enum(["user", "partner", "authority", "admin"]),
    email_verified: z.boolean(),
    display_name: z.string().nullable(),
    created_at: z.iso.datetime({ offset: true }),
  })
  .meta({ id: "Account" });

export type AccountResponse = z.infer<typeof accountSchema>;

export function toAccountResponse(account: AccountProfile): AccountResponse {
  return {
    id: account.publicId,
    email: account.email,
    role: account.role,
    email_verified: account.emailVerified,
    display_name: account.displayName,
    created_at: account.createdAt.toISOString(),
  };
}

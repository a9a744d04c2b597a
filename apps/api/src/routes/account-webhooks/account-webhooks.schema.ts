/** Request and response schemas of /api/v1/accounts/me/webhooks. Request bodies are strict: unknown fields are a 400. */

import { webhookUrlSchema } from "@betblocker/core/webhooks/account-webhook.service";
import type { AccountWebhookRow } from "@betblocker/db/repositories/account-webhook.repository";
import { z } from "zod";

export const webhookSchema = z
  .object({
    id: z.uuid().meta({ description: "Public id of the webhook." }),
    url: z.string().meta({ description: "Where signed alert requests are POSTed." }),
    description: z.string().nullable(),
    created_at: z.iso.datetime({ offset: true }),
  })
  .meta({ id: "AccountWebhook" });

export function toWebhookResponse(webhook: AccountWebhookRow): z.infer<typeof webhookSchema> {
  return {
    id: webhook.publicId,
    url: webhook.url,
    description: webhook.description,
    created_at: webhook.createdAt.toISOString(),
  };
}

export const webhookListResponseSchema = z.object({ items: z.array(webhookSchema) });

export const createWebhookBodySchema = z.strictObject({
  url: webhookUrlSchema.meta({
    description: "http(s) URL without user name, password or fragment; at most 500 characters.",
    format: "uri",
  }),
  description: z.string().trim().max(200).nullish().meta({ description: "A note for yourself." }),
});

export const createdWebhookSchema = webhookSchema
  .extend({
    secret: z.string().meta({
      description:
        "Signing secret, shown ONLY in this response: X-BetBlocker-Signature is " +
        '"sha256=" + hex HMAC-SHA256(secret, X-BetBlocker-Timestamp + "." + raw body).',
    }),
  })
  .meta({ id: "CreatedAccountWebhook" });

export const webhookParamsSchema = z.object({
  id: z.uuid().meta({ description: "Public id of one of your webhooks." }),
});

export const webhookTestResponseSchema = z
  .object({
    delivered: z.boolean().meta({ description: "The receiver answered 2xx." }),
    status: z.int().nullable().meta({ description: "HTTP status of the answer; null without one." }),
    error: z.string().nullable(),
    delivery_id: z.uuid().meta({ description: "Idempotency-Key of the test request." }),
  })
  .meta({ id: "AccountWebhookTest" });

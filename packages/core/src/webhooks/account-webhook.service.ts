/**
 * Account webhooks: an account (partner, therapist, court program member, or the user) registers its own URL
 * to receive the alerts it is a recipient of (reporting_config.alerts.alert_channels "webhook"). The alert
 * delivery job signs each request with the webhook's secret, in the format of the operator webhooks
 * (alerts/transports.ts): X-BetBlocker-Signature = "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body).
 *
 * Contracts:
 * - every function acts on the caller's own webhooks only (account_id = actor), and row-level security on
 *   account_webhooks is the second wall;
 * - the secret is generated here, returned by createAccountWebhook only, and never logged or returned again;
 * - the test request is sent outside any transaction (no row lock held during network I/O).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { AppError } from "@betblocker/common/errors/app-error";
import type { TransactionSql } from "@betblocker/db/client";
import {
  type AccountWebhookRow,
  countAccountWebhooks,
  deleteAccountWebhook as deleteWebhookRow,
  findAccountWebhookSigningTarget,
  insertAccountWebhook,
  listAccountWebhooks as listWebhookRows,
  lockAccountWebhooks,
  type WebhookSigningTarget,
} from "@betblocker/db/repositories/account-webhook.repository";
import { z } from "zod";
import { postSignedWebhook, type WebhookAttempt } from "../alerts/transports";

/** Enough for a partner, a therapist and a program's systems; bounds what one account can make us call. */
export const MAX_WEBHOOKS_PER_ACCOUNT = 10;
export const MAX_WEBHOOK_URL_LENGTH = 500;
/** Test requests wait at most this long for the receiver. */
export const WEBHOOK_TEST_TIMEOUT_MS = 10_000;

export interface WebhookActor {
  id: number;
}

/**
 * A webhook URL: http or https, a host, no user name or password (they would be stored and shown in clear),
 * no fragment; normalized by the WHATWG URL parser ("HTTPS://Example.com" -> "https://example.com/").
 */
export const webhookUrlSchema = z
  .string()
  .max(MAX_WEBHOOK_URL_LENGTH)
  .transform((value, context) => {
    let url: URL;
    try {
      url = new URL(value.trim());
    } catch {
      context.addIssue({ code: "custom", message: "must be an absolute http(s) URL" });
      return z.NEVER;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      context.addIssue({ code: "custom", message: "only http and https URLs are supported" });
      return z.NEVER;
    }
    if (url.username !== "" || url.password !== "") {
      context.addIssue({ code: "custom", message: "must not contain a user name or password" });
      return z.NEVER;
    }
    if (url.hash !== "") {
      context.addIssue({ code: "custom", message: "must not contain a fragment (#...)" });
      return z.NEVER;
    }
    if (url.href.length > MAX_WEBHOOK_URL_LENGTH) {
      context.addIssue({ code: "custom", message: `at most ${MAX_WEBHOOK_URL_LENGTH} characters` });
      return z.NEVER;
    }
    return url.href;
  });

/** 32 random bytes, base64url, with a prefix that makes a leaked secret recognizable (secret scanners). */
export function generateWebhookSecret(): string {
  return `bbwhsec_${randomBytes(32).toString("base64url")}`;
}

export interface CreatedWebhook {
  webhook: AccountWebhookRow;
  /** Shown once: the caller must store it to verify signatures. */
  secret: string;
}

export async function createAccountWebhook(
  tx: TransactionSql,
  actor: WebhookActor,
  input: { url: string; description: string | null },
): Promise<CreatedWebhook> {
  const url = webhookUrlSchema.safeParse(input.url);
  if (!url.success) {
    throw new AppError("VALIDATION_FAILED", "invalid webhook URL", {
      fieldErrors: [{ path: "url", message: url.error.issues[0]?.message ?? "invalid" }],
    });
  }
  // Serializes concurrent creations by one account, so the limit below holds.
  await lockAccountWebhooks(tx, actor.id);
  if ((await countAccountWebhooks(tx, actor.id)) >= MAX_WEBHOOKS_PER_ACCOUNT) {
    throw new AppError("CONFLICT", `an account may register at most ${MAX_WEBHOOKS_PER_ACCOUNT} webhooks`);
  }
  const secret = generateWebhookSecret();
  const webhook = await insertAccountWebhook(tx, {
    accountId: actor.id,
    url: url.data,
    description: input.description,
    secret,
  });
  if (!webhook) throw new AppError("CONFLICT", "this account already has a webhook with this URL");
  return { webhook, secret };
}

export async function listAccountWebhooks(
  tx: TransactionSql,
  actor: WebhookActor,
): Promise<AccountWebhookRow[]> {
  return await listWebhookRows(tx, actor.id);
}

/** NOT_FOUND for an id that is not one of the caller's webhooks (whether or not it exists elsewhere). */
export async function deleteAccountWebhook(
  tx: TransactionSql,
  actor: WebhookActor,
  publicId: string,
): Promise<void> {
  if (!(await deleteWebhookRow(tx, actor.id, publicId))) throw new AppError("NOT_FOUND", "webhook not found");
}

/** Step 1 of a test: the caller's webhook with its secret (in the request's transaction). */
export async function findWebhookToTest(
  tx: TransactionSql,
  actor: WebhookActor,
  publicId: string,
): Promise<WebhookSigningTarget & { publicId: string }> {
  const target = await findAccountWebhookSigningTarget(tx, actor.id, publicId);
  if (!target) throw new AppError("NOT_FOUND", "webhook not found");
  return target;
}

export interface WebhookTestResult extends WebhookAttempt {
  /** Idempotency-Key / X-BetBlocker-Delivery of the test request. */
  deliveryId: string;
}

/**
 * Step 2 of a test: one signed request with a test payload, exactly as alerts are sent (no retries: the
 * result is for the person looking at the screen). Resolves with the outcome; never throws for the receiver.
 */
export async function sendWebhookTest(
  target: WebhookSigningTarget & { publicId: string },
  options: { timeoutMs?: number; now?: () => Date; privateTargets?: boolean } = {},
): Promise<WebhookTestResult> {
  const now = options.now ?? (() => new Date());
  const deliveryId = randomUUID();
  const attempt = await postSignedWebhook(
    target,
    {
      publicId: deliveryId,
      incidentKey: `webhook-test:${target.publicId}:${deliveryId}`,
      subject: "BetBlocker: test alert",
      createdAt: now(),
      payload: { kind: "test", webhook: target.publicId },
    },
    {
      timeoutMs: options.timeoutMs ?? WEBHOOK_TEST_TIMEOUT_MS,
      now,
      publicOnly: options.privateTargets !== true,
    },
  );
  return { ...attempt, deliveryId };
}

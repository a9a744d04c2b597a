/**
 * How alert deliveries leave the platform: e-mail through SMTP (nodemailer) and signed webhooks.
 *
 * Webhook contract (documented for receivers):
 * - POST, Content-Type: application/json, body {"id","incident","subject","created_at","payload"};
 * - X-BetBlocker-Timestamp: Unix seconds when the request was signed;
 * - X-BetBlocker-Signature: "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + raw body). Receivers
 *   recompute it over the raw bytes, compare in constant time and reject old timestamps (replay);
 * - Idempotency-Key (and X-BetBlocker-Delivery): the delivery's id, identical on every retry, so a receiver
 *   that saw it already answers 2xx and ignores the duplicate.
 * Only a 2xx counts as delivered; redirects are not followed (a 3xx is a failure, retried).
 * The secret is the operator webhook's (configuration) or, for an account webhook, the one generated when
 * the account registered it (account_webhooks, see webhooks/account-webhook.service.ts).
 *
 * E-mails carry the same id as Message-ID and X-BetBlocker-Delivery; the delivery counts as sent once the
 * SMTP server accepted the message.
 */
import { createHmac } from "node:crypto";
import type { AlertDeliveryRow } from "@betblocker/db/repositories/alert.repository";
import nodemailer from "nodemailer";
import type { SmtpConfig, WebhookTarget } from "../jobs/worker.config";
import { postOutbound } from "./outbound";

export const SIGNATURE_HEADER = "x-betblocker-signature";
export const TIMESTAMP_HEADER = "x-betblocker-timestamp";
export const DELIVERY_HEADER = "x-betblocker-delivery";
export const IDEMPOTENCY_HEADER = "idempotency-key";

export interface AlertTransports {
  /**
   * Resolves when the receiver accepted the message; throws otherwise (the error is recorded). `target` is
   * given for deliveries to an account webhook (URL and secret from account_webhooks); operator webhooks are
   * looked up in the configuration by URL.
   */
  send(delivery: AlertDeliveryRow, target?: WebhookTarget): Promise<void>;
  close(): Promise<void>;
}

export class DeliveryError extends Error {
  constructor(
    message: string,
    /** false: retrying cannot help (e.g. no secret for the webhook, SMTP not configured). */
    readonly retryable = true,
  ) {
    super(message);
    this.name = "DeliveryError";
  }
}

/** The signature header value for `body` signed at `timestamp` (Unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** The fields of a delivery that a webhook request carries. */
export type WebhookMessage = Pick<
  AlertDeliveryRow,
  "publicId" | "incidentKey" | "subject" | "createdAt" | "payload"
>;

export function webhookBody(delivery: WebhookMessage): string {
  return JSON.stringify({
    id: delivery.publicId,
    incident: delivery.incidentKey,
    subject: delivery.subject,
    created_at: delivery.createdAt.toISOString(),
    payload: delivery.payload,
  });
}

export function emailText(delivery: AlertDeliveryRow): string {
  const lines = [delivery.subject, ""];
  for (const [key, value] of Object.entries(delivery.payload)) {
    lines.push(`${key.replaceAll("_", " ")}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
  }
  lines.push("", `incident: ${delivery.incidentKey}`, `delivery: ${delivery.publicId}`);
  return `${lines.join("\n")}\n`;
}

export interface TransportOptions {
  smtp: SmtpConfig;
  webhooks: readonly WebhookTarget[];
  timeoutMs: number;
  now?: () => Date;
  /**
   * Account webhooks may reach loopback and private addresses ([alerts] account_webhooks_private_targets,
   * for a self-hosted single machine). Default false: only public addresses.
   */
  accountWebhooksPrivateTargets?: boolean;
}

export function createAlertTransports(options: TransportOptions): AlertTransports {
  const now = options.now ?? (() => new Date());
  const smtp = options.smtp;
  const mailer = smtp.host
    ? nodemailer.createTransport({
        host: smtp.host,
        port: smtp.port,
        secure: smtp.secure,
        ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? "" } } : {}),
        connectionTimeout: options.timeoutMs,
        greetingTimeout: options.timeoutMs,
        socketTimeout: options.timeoutMs,
      })
    : null;

  async function sendEmail(delivery: AlertDeliveryRow): Promise<void> {
    if (!mailer) throw new DeliveryError("smtp.host is not configured: cannot send alert e-mails");
    try {
      await mailer.sendMail({
        from: smtp.from,
        to: delivery.recipient,
        subject: delivery.subject,
        text: emailText(delivery),
        messageId: `<${delivery.publicId}@betblocker.alerts>`,
        headers: { "X-BetBlocker-Delivery": delivery.publicId },
      });
    } catch (error) {
      throw new DeliveryError(`SMTP: ${(error as Error).message}`);
    }
  }

  async function sendWebhook(delivery: AlertDeliveryRow, accountTarget?: WebhookTarget): Promise<void> {
    // An account webhook is signed with its own secret only, never with an operator secret for the same URL.
    if (delivery.accountWebhookId !== null && !accountTarget)
      throw new DeliveryError("the account webhook of this delivery no longer exists", false);
    const target = accountTarget ?? options.webhooks.find((w) => w.url === delivery.recipient);
    if (!target) throw new DeliveryError(`no webhook secret configured for ${delivery.recipient}`, false);
    const attempt = await postSignedWebhook(target, delivery, {
      timeoutMs: options.timeoutMs,
      now,
      publicOnly: accountTarget !== undefined && options.accountWebhooksPrivateTargets !== true,
    });
    if (!attempt.delivered) throw new DeliveryError(attempt.error ?? "webhook: not delivered");
  }

  return {
    async send(delivery, target) {
      if (delivery.channel === "email") await sendEmail(delivery);
      else await sendWebhook(delivery, target);
    },
    async close() {
      mailer?.close();
    },
  };
}

export interface WebhookAttempt {
  /** The receiver answered 2xx. */
  delivered: boolean;
  /** HTTP status of the answer; null when there was none (connection error, timeout). */
  status: number | null;
  /** Why it was not delivered; null when it was. Never contains the secret. */
  error: string | null;
}

/**
 * One signed POST of `message` to `target` (the contract in the header). Never throws: the outcome says
 * whether the receiver accepted it. Used by the delivery transports and by the account webhook test route.
 */
export async function postSignedWebhook(
  target: WebhookTarget,
  message: WebhookMessage,
  options: {
    timeoutMs: number;
    now?: () => Date;
    /** Refuse loopback, private and other non-public destinations (account webhooks; see outbound.ts). */
    publicOnly?: boolean;
  },
): Promise<WebhookAttempt> {
  const body = webhookBody(message);
  const timestamp = Math.floor((options.now ?? (() => new Date()))().getTime() / 1000);
  let status: number;
  try {
    ({ status } = await postOutbound(target.url, {
      timeoutMs: options.timeoutMs,
      publicOnly: options.publicOnly ?? false,
      headers: {
        "content-type": "application/json",
        "user-agent": "BetBlocker-alerts",
        [TIMESTAMP_HEADER]: String(timestamp),
        [SIGNATURE_HEADER]: signWebhook(target.secret, timestamp, body),
        [IDEMPOTENCY_HEADER]: message.publicId,
        [DELIVERY_HEADER]: message.publicId,
      },
      body,
    }));
  } catch (error) {
    return { delivered: false, status: null, error: `webhook: ${(error as Error).message}` };
  }
  if (status < 200 || status > 299) return { delivered: false, status, error: `webhook: HTTP ${status}` };
  return { delivered: true, status, error: null };
}

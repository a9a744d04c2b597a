/**
 * /api/v1/accounts/me/webhooks: the signed-in account's own alert webhooks (any role). Alerts the account is a
 * recipient of, on enrollments whose reporting_config.alerts.alert_channels lists "webhook", are POSTed there,
 * signed with the webhook's secret. Thin: validate (schemas), call the service as the caller, shape.
 */
import {
  createAccountWebhook,
  deleteAccountWebhook,
  findWebhookToTest,
  listAccountWebhooks,
  sendWebhookTest,
} from "@betblocker/core/webhooks/account-webhook.service";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { errorResponses } from "../../http/responses";
import {
  createdWebhookSchema,
  createWebhookBodySchema,
  toWebhookResponse,
  webhookListResponseSchema,
  webhookParamsSchema,
  webhookTestResponseSchema,
} from "./account-webhooks.schema";

export interface AccountWebhookRoutesOptions {
  /** [alerts] account_webhooks_private_targets: tests may reach loopback/private receivers (default false). */
  privateTargets?: boolean;
}

export const accountWebhookRoutes: FastifyPluginAsyncZod<AccountWebhookRoutesOptions> = async (
  app,
  options,
) => {
  app.get(
    "/",
    {
      prefixTrailingSlash: "no-slash",
      config: { auth: true },
      schema: {
        tags: ["webhooks"],
        summary: "Your alert webhooks (never their secrets)",
        response: { 200: webhookListResponseSchema, ...errorResponses(401) },
      },
    },
    async (request) => {
      const items = await request.withActor((tx, account) => listAccountWebhooks(tx, account));
      return { items: items.map(toWebhookResponse) };
    },
  );

  app.post(
    "/",
    {
      prefixTrailingSlash: "no-slash",
      config: { auth: true },
      schema: {
        tags: ["webhooks"],
        summary: "Register a webhook for your alerts; the response carries its signing secret, once",
        description:
          "409 CONFLICT when you already registered this URL or have 10 webhooks. Alerts reach it for " +
          'enrollments whose reporting_config.alerts.alert_channels lists "webhook".',
        body: createWebhookBodySchema,
        response: { 201: createdWebhookSchema, ...errorResponses(400, 401, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const { url, description } = request.body;
      const created = await request.withActor((tx, account) =>
        createAccountWebhook(tx, account, { url, description: description || null }),
      );
      reply.status(201);
      return { ...toWebhookResponse(created.webhook), secret: created.secret };
    },
  );

  app.delete(
    "/:id",
    {
      config: { auth: true },
      schema: {
        tags: ["webhooks"],
        summary: "Delete one of your webhooks (alerts not yet delivered to it are dropped)",
        params: webhookParamsSchema,
        response: { 204: z.undefined().meta({ description: "Deleted" }), ...errorResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      await request.withActor((tx, account) => deleteAccountWebhook(tx, account, request.params.id));
      return reply.status(204).send();
    },
  );

  app.post(
    "/:id/test",
    {
      // Each call makes this server send a request: bounded per client IP.
      config: { auth: true, rateLimit: { name: "webhook-test", max: 20, windowSeconds: 600 } },
      schema: {
        tags: ["webhooks"],
        summary: "Send a signed test alert to one of your webhooks now and report the receiver's answer",
        description:
          'Body {"id","incident","subject","created_at","payload":{"kind":"test"}}, signed like every alert. ' +
          "One attempt, no retries; 200 whatever the receiver answered (see delivered).",
        params: webhookParamsSchema,
        response: { 200: webhookTestResponseSchema, ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const target = await request.withActor((tx, account) =>
        findWebhookToTest(tx, account, request.params.id),
      );
      const result = await sendWebhookTest(target, { privateTargets: options.privateTargets === true });
      return {
        delivered: result.delivered,
        status: result.status,
        error: result.error,
        delivery_id: result.deliveryId,
      };
    },
  );
};

/**
 * /api/v1/auth: register, verify-email, login, refresh, logout. Thin: validate (schemas), call AuthService,
 * shape the response. Every response carries Cache-Control: no-store (they hold or concern credentials).
 */

import type { AuthService, AuthSession } from "@betblocker/core/auth/auth.service";
import type { ApiConfig } from "@betblocker/core/config/config";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { errorResponses } from "../../http/responses";
import { toAccountResponse } from "../accounts/accounts.schema";
import {
  loginBodySchema,
  logoutBodySchema,
  refreshBodySchema,
  registerBodySchema,
  registerResponseSchema,
  sessionResponseSchema,
  verifyEmailBodySchema,
  verifyEmailResponseSchema,
} from "./auth.schema";

export interface AuthRoutesOptions {
  authService: AuthService;
  config: ApiConfig;
}

const REGISTER_MESSAGE =
  "If this address can be registered, a verification link is on its way. Check your inbox to continue.";

function toSessionResponse(session: AuthSession) {
  return {
    access_token: session.accessToken,
    token_type: "Bearer" as const,
    expires_in: session.accessTokenExpiresIn,
    refresh_token: session.refreshToken,
    refresh_token_expires_at: session.refreshTokenExpiresAt.toISOString(),
    account: toAccountResponse(session.account),
  };
}

export const authRoutes: FastifyPluginAsyncZod<AuthRoutesOptions> = async (app, { authService, config }) => {
  const { registerPerIp, tokenRequestsPerIp } = config.rateLimits;
  const tokenLimit = (name: string) => ({ name, ...tokenRequestsPerIp });

  app.addHook("onSend", async (_request, reply) => {
    reply.header("cache-control", "no-store");
  });

  app.post(
    "/register",
    {
      config: { rateLimit: { name: "register", ...registerPerIp } },
      schema: {
        tags: ["auth"],
        summary: "Create an account",
        description:
          "Always answers 202 with the same body, whether or not the address is already registered, so that " +
          "registration cannot be used to find out who has an account. The address must then be verified.",
        body: registerBodySchema,
        response: { 202: registerResponseSchema, ...errorResponses(400, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const { email, password, display_name } = request.body;
      const result = await authService.register(request.authContext(), {
        email,
        password,
        displayName: display_name ?? null,
      });
      reply.status(202);
      return {
        status: "verification_pending" as const,
        message: REGISTER_MESSAGE,
        ...(config.exposeDevTokens && result.verificationToken
          ? { dev_verification_token: result.verificationToken }
          : {}),
      };
    },
  );

  app.post(
    "/verify-email",
    {
      config: { rateLimit: tokenLimit("verify-email") },
      schema: {
        tags: ["auth"],
        summary: "Confirm the e-mail address with the token from the verification mail",
        body: verifyEmailBodySchema,
        response: { 200: verifyEmailResponseSchema, ...errorResponses(400, 413, 415, 429) },
      },
    },
    async (request) => {
      await authService.verifyEmail(request.authContext(), request.body.token);
      return { status: "verified" as const };
    },
  );

  app.post(
    "/login",
    {
      schema: {
        tags: ["auth"],
        summary: "Sign in with e-mail address and password",
        description:
          "Unknown address and wrong password give the same 401. Failed attempts are limited per address and " +
          "per client IP (429 with Retry-After); successful ones do not count.",
        body: loginBodySchema,
        response: { 200: sessionResponseSchema, ...errorResponses(400, 401, 413, 415, 429) },
      },
    },
    async (request) => {
      const session = await authService.login(request.authContext(), request.body);
      return toSessionResponse(session);
    },
  );

  app.post(
    "/refresh",
    {
      config: { rateLimit: tokenLimit("refresh") },
      schema: {
        tags: ["auth"],
        summary: "Exchange a refresh token for new tokens (rotation)",
        description:
          "The presented refresh token is used up; the response carries its successor. Presenting a token " +
          "that was already used revokes every token of that sign-in and answers 401 TOKEN_REUSED.",
        body: refreshBodySchema,
        response: { 200: sessionResponseSchema, ...errorResponses(400, 401, 413, 415, 429) },
      },
    },
    async (request) => {
      const session = await authService.refresh(request.authContext(), request.body.refresh_token);
      return toSessionResponse(session);
    },
  );

  app.post(
    "/logout",
    {
      config: { rateLimit: tokenLimit("logout") },
      schema: {
        tags: ["auth"],
        summary: "Sign out: revoke the refresh token's session",
        description:
          "Revokes every refresh token of the presented token's sign-in (this device's session); other " +
          "devices stay signed in. Idempotent: an unknown or revoked token also answers 204. Access tokens " +
          "already issued stay valid until they expire (at most 15 minutes).",
        body: logoutBodySchema,
        response: {
          204: z.undefined().meta({ description: "Signed out" }),
          ...errorResponses(400, 413, 415, 429),
        },
      },
    },
    async (request, reply) => {
      await authService.logout(request.authContext(), request.body.refresh_token);
      reply.status(204).send();
    },
  );
};

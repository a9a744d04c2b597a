/**
 * Bearer access tokens. Routes opt in with `config: { auth: true }`: an onRequest hook (before the body is
 * read) verifies `Authorization: Bearer <jwt>` and sets `request.actor`; the route's OpenAPI operation gets
 * the bearerAuth security requirement. Missing, malformed, expired or forged tokens all answer 401
 * UNAUTHENTICATED with one message, so a caller learns nothing about why.
 */
import { AppError } from "@betblocker/common/errors/app-error";
import type { AccessTokenSubject, AccessTokens } from "@betblocker/core/auth/access-token";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import fp from "fastify-plugin";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Require a valid access token (sets request.actor). */
    auth?: boolean;
  }
  interface FastifyRequest {
    /** The authenticated caller; null on routes without `config.auth`. */
    actor: AccessTokenSubject | null;
  }
}

export interface AuthPluginOptions {
  accessTokens: AccessTokens;
}

/** A compact JWS: three base64url parts; bounded so that a huge header costs nothing. */
const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i;
const MAX_AUTHORIZATION_LENGTH = 4096;

const authPlugin: FastifyPluginAsync<AuthPluginOptions> = async (app, options) => {
  app.decorateRequest("actor", null);

  async function authenticate(request: FastifyRequest): Promise<void> {
    const header = request.headers.authorization;
    if (!header) throw new AppError("UNAUTHENTICATED", "authentication required");
    const match = header.length <= MAX_AUTHORIZATION_LENGTH ? BEARER.exec(header.trim()) : null;
    if (!match?.[1]) throw new AppError("UNAUTHENTICATED", "invalid or expired access token");
    request.actor = await options.accessTokens.verify(match[1]);
  }

  app.addHook("onRoute", (route) => {
    if (!route.config?.auth) return;
    const existing = route.onRequest;
    route.onRequest = [authenticate, ...(Array.isArray(existing) ? existing : existing ? [existing] : [])];
    if (route.schema) route.schema = { ...route.schema, security: [{ bearerAuth: [] }] };
  });
};

export default fp(authPlugin, { name: "auth", fastify: "5.x" });

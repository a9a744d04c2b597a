/**
 * Per-client-IP request limits for routes that opt in with `config: { rateLimit: { name, max, windowSeconds } }`,
 * counted in an onRequest hook (before the body is read) in the shared RateLimitStore: in memory by default,
 * Redis when REDIS_URL is set. Exceeding a limit answers 429 RATE_LIMITED with Retry-After. The login
 * failure limits per account/e-mail live in the auth service (LoginThrottle), which uses the same store.
 */
import type { Clock } from "@betblocker/core/auth/clock";
import { consumeRateLimit, type RateLimitStore } from "@betblocker/core/auth/rate-limit";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import fp from "fastify-plugin";

export interface RouteRateLimit {
  /** Counter namespace, e.g. "register". */
  name: string;
  max: number;
  windowSeconds: number;
}

declare module "fastify" {
  interface FastifyContextConfig {
    rateLimit?: RouteRateLimit;
  }
  interface FastifyInstance {
    rateLimitStore: RateLimitStore;
  }
}

export interface RateLimitPluginOptions {
  store: RateLimitStore;
  clock: Clock;
}

const rateLimitPlugin: FastifyPluginAsync<RateLimitPluginOptions> = async (app, options) => {
  app.decorate("rateLimitStore", options.store);
  app.addHook("onRoute", (route) => {
    const limit = route.config?.rateLimit;
    if (!limit) return;
    const hook = async (request: FastifyRequest) => {
      await consumeRateLimit(options.store, `rl:${limit.name}:ip:${request.ip}`, limit, options.clock);
    };
    const existing = route.onRequest;
    // First, so that a flood is turned away before any other work (token verification included).
    route.onRequest = [hook, ...(Array.isArray(existing) ? existing : existing ? [existing] : [])];
  });
};

export default fp(rateLimitPlugin, { name: "rate-limit", fastify: "5.x", dependencies: ["auth"] });

/**
 * OpenAPI 3.1 generated from the routes' zod schemas (request and response), served as JSON at
 * GET /api/v1/openapi.json, with Swagger UI at /api/v1/docs. The web client's types are generated from this
 * document, so every route must declare its schemas.
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";
import { jsonSchemaTransform, jsonSchemaTransformObject } from "fastify-type-provider-zod";
import { z } from "zod";

export interface OpenApiPluginOptions {
  version: string;
}

export const OPENAPI_PATH = "/api/v1/openapi.json";
export const DOCS_PREFIX = "/api/v1/docs";

const openApiPlugin: FastifyPluginAsync<OpenApiPluginOptions> = async (app, options) => {
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "BetBlocker API",
        version: options.version,
        description:
          "Accounts and sessions of BetBlocker. Errors always have the shape " +
          '{"error":{"code","message","details"?}}; VALIDATION_FAILED carries details.fieldErrors.',
        license: { name: "AGPL-3.0-or-later", identifier: "AGPL-3.0-or-later" },
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT (EdDSA, 15 minutes)" },
        },
      },
      tags: [
        { name: "auth", description: "Registration, sign-in and sessions" },
        { name: "accounts", description: "The signed-in account" },
        { name: "health", description: "Liveness and database reachability" },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });

  app.get(
    OPENAPI_PATH,
    { schema: { hide: true, response: { 200: z.record(z.string(), z.unknown()) } } },
    async () => app.swagger() as unknown as Record<string, unknown>,
  );
};

export default fp(openApiPlugin, { name: "openapi", fastify: "5.x" });

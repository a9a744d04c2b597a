/** GET /api/health: the process answers and the database is reachable (select 1 through the pool). */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { errorResponses } from "../../http/responses";

export interface HealthRoutesOptions {
  version: string;
  /** How long the database may take to answer select 1. */
  databaseTimeoutMs?: number;
}

const healthSchema = z.object({
  status: z.enum(["ok", "unavailable"]),
  database: z.enum(["ok", "unavailable"]),
  version: z.string(),
});

export const healthRoutes: FastifyPluginAsyncZod<HealthRoutesOptions> = async (app, options) => {
  const timeoutMs = options.databaseTimeoutMs ?? 2000;
  app.get(
    "/health",
    {
      schema: {
        tags: ["health"],
        summary: "Health of the API and its database",
        response: { 200: healthSchema, 503: healthSchema, ...errorResponses() },
      },
    },
    async (request, reply) => {
      let timer: NodeJS.Timeout | undefined;
      const databaseOk = await Promise.race([
        app.database.sql`select 1 as ok`.then(
          () => true,
          (error: unknown) => {
            request.log.warn({ err: error }, "health check: database query failed");
            return false;
          },
        ),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
      reply.header("cache-control", "no-store");
      if (!databaseOk) {
        reply.status(503);
        return { status: "unavailable" as const, database: "unavailable" as const, version: options.version };
      }
      return { status: "ok" as const, database: "ok" as const, version: options.version };
    },
  );
};

/**
 * The one error handler: AppError codes map to statuses through HTTP_STATUS_BY_CODE; Fastify's own errors
 * (malformed JSON, oversize body, wrong content type) get the same envelope; anything else is a 500 INTERNAL
 * that names the request id and nothing of the failure. Unknown routes answer 404 NOT_FOUND.
 */
import type { FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";
import { isResponseSerializationError } from "fastify-type-provider-zod";
import { toHttpError } from "../http/errors";

const errorsPlugin: FastifyPluginAsync = async (app) => {
  app.setErrorHandler((error, request, reply) => {
    const http = toHttpError(error, String(request.id));
    if (http.internal) {
      // A response that failed its schema is a bug (possibly an attempted leak), never sent.
      const kind =
        error && typeof error === "object" && "method" in error && isResponseSerializationError(error)
          ? "response failed its schema"
          : "unexpected error";
      request.log.error({ err: error }, kind);
    } else if (http.status >= 400) {
      request.log.info({ code: http.body.error.code, status: http.status }, "request rejected");
    }
    reply.status(http.status).headers(http.headers).send(http.body);
  });

  app.setNotFoundHandler((_request, reply) => {
    reply.status(404).send({ error: { code: "NOT_FOUND", message: "no such route" } });
  });
};

export default fp(errorsPlugin, { name: "errors", fastify: "5.x" });

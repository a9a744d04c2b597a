/**
 * The device listener: a second Fastify instance on its own port, HTTPS with mutual TLS, serving
 * /api/v1/device/* (routes/device/) with protobuf bodies.
 *
 * TLS: requestCert true and rejectUnauthorized false, with `ca` = the device CA certificate only. A client
 * without a certificate still completes the handshake (registration needs no certificate); a certificate that
 * does not chain to the device CA, or has expired, leaves the socket unauthorized, and every route but
 * register then answers 401 UNAUTHENTICATED. The fingerprint of a verified certificate is computed once per
 * connection (renegotiation is disabled, so it cannot change). The server certificate is issued by the same
 * CA (core/devices/device-ca.ts loadOrCreateServerCertificate).
 *
 * Errors use the API's JSON envelope (http/errors.ts). Request logging is off (heartbeats arrive by the
 * thousand per second); refusals and failures are logged.
 */
import type { TLSSocket } from "node:tls";
import { fingerprintOfDer } from "@betblocker/core/devices/device-ca";
import type { DeviceRuntime } from "@betblocker/core/devices/device-runtime";
import { DEFAULT_MAX_MESSAGE_BYTES, PROTOBUF_CONTENT_TYPE } from "@betblocker/proto";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from "fastify";
import { LOG_REDACT_PATHS } from "../app";
import { toHttpError } from "../http/errors";
import { deviceRoutes } from "../routes/device/device.routes";

export interface DeviceTlsMaterial {
  /** Server certificate and key, PEM. */
  cert: string;
  key: string;
  /** The device CA certificate, PEM: the only issuer of accepted client certificates. */
  ca: string;
}

export interface BuildDeviceAppOptions {
  runtime: DeviceRuntime;
  tls: DeviceTlsMaterial;
  loggerInstance?: FastifyBaseLogger;
  logger?: boolean;
}

export const DEVICE_API_PREFIX = "/api/v1/device";

const fingerprints = new WeakMap<TLSSocket, string | null>();

/** SHA-256 of the verified client certificate of the request's connection, or null (none, or not verified). */
export function peerFingerprint(request: FastifyRequest): string | null {
  const socket = request.raw.socket as TLSSocket;
  let fingerprint = fingerprints.get(socket);
  if (fingerprint === undefined) {
    fingerprint = null;
    if (socket.authorized) {
      const certificate = socket.getPeerCertificate();
      if (certificate?.raw) fingerprint = fingerprintOfDer(certificate.raw);
    } else if (socket.authorizationError && typeof socket.getPeerCertificate === "function") {
      const presented = socket.getPeerCertificate();
      if (presented?.raw) {
        request.log.info(
          { reason: String(socket.authorizationError) },
          "device client certificate not verified",
        );
      }
    }
    fingerprints.set(socket, fingerprint);
  }
  return fingerprint;
}

export async function buildDeviceApp(options: BuildDeviceAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    https: {
      cert: options.tls.cert,
      key: options.tls.key,
      ca: options.tls.ca,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: "TLSv1.2",
    },
    ...(options.loggerInstance
      ? { loggerInstance: options.loggerInstance }
      : {
          logger: options.logger ? { redact: { paths: LOG_REDACT_PATHS, censor: "[redacted]" } } : false,
        }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: DEFAULT_MAX_MESSAGE_BYTES,
    // TLS (and so the client certificate) ends here, never at a proxy: X-Forwarded-For is not believed.
    trustProxy: false,
    requestIdHeader: false,
    genReqId: () => crypto.randomUUID(),
  });

  // A certificate is checked once per connection; renegotiation could swap it underneath.
  app.server.on("secureConnection", (socket: TLSSocket) => socket.disableRenegotiation());

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(PROTOBUF_CONTENT_TYPE, { parseAs: "buffer" }, (_request, body, done) =>
    done(null, body),
  );

  app.setErrorHandler((error, request, reply) => {
    const http = toHttpError(error, String(request.id));
    if (http.internal) request.log.error({ err: error }, "unexpected error");
    else if (http.status >= 400) {
      request.log.info(
        { code: http.body.error.code, status: http.status, url: request.url },
        "device request rejected",
      );
    }
    const headers = { ...http.headers };
    // mTLS has no WWW-Authenticate scheme; the bearer challenge of the web API would mislead.
    delete headers["www-authenticate"];
    const body =
      (error as { code?: unknown }).code === "FST_ERR_CTP_INVALID_MEDIA_TYPE"
        ? {
            error: {
              code: http.body.error.code,
              message: `unsupported Content-Type, send ${PROTOBUF_CONTENT_TYPE}`,
            },
          }
        : http.body;
    reply.status(http.status).headers(headers).send(body);
  });
  app.setNotFoundHandler((_request, reply) => {
    reply.status(404).send({ error: { code: "NOT_FOUND", message: "no such route" } });
  });
  app.addHook("onSend", async (_request, reply) => {
    reply.header("x-content-type-options", "nosniff");
  });

  await app.register(deviceRoutes, { prefix: DEVICE_API_PREFIX, runtime: options.runtime, peerFingerprint });
  return app;
}

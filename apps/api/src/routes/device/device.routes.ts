/**
 * /api/v1/device/*: the agent's API, served only by the mutual-TLS device listener (device-server/). Request
 * and response bodies are protobuf (application/x-protobuf, packages/proto); errors are the JSON envelope.
 *
 * register works without a client certificate (the one-time enrollment code authenticates it); every other
 * route requires a client certificate issued by the device CA whose fingerprint names an unrevoked,
 * unexpired certificate of an enabled device (core/devices/device-auth.ts), else 401 UNAUTHENTICATED.
 */
import { AppError } from "@betblocker/common/errors/app-error";
import type { PublishedVersion } from "@betblocker/core/devices/blocklist-sync.service";
import type { DeviceSession } from "@betblocker/core/devices/device-auth";
import { effectiveDeviceConfig } from "@betblocker/core/devices/device-config";
import type { DeviceRuntime } from "@betblocker/core/devices/device-runtime";
import {
  type DescMessage,
  EventBatchResponseSchema,
  encodeMessage,
  enumToString,
  FederatedReportBatchResponseSchema,
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  MAX_SYNC_RESPONSE_BYTES,
  type MessageInitShape,
  PlatformSchema,
  PROTOBUF_CONTENT_TYPE,
  RegisterRequestSchema,
  RegisterResponseSchema,
  RenewCertificateRequestSchema,
  RenewCertificateResponseSchema,
  SyncRequestSchema,
  SyncResponseSchema,
  timestampFromDate,
} from "@betblocker/proto";
import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import {
  agentConfigOf,
  decodeBody,
  decodeEventBatch,
  decodeFederatedReports,
  enrollmentMessage,
  signingKeyMessage,
  syncResponseOf,
} from "./device.codec";

declare module "fastify" {
  interface FastifyRequest {
    /** The authenticated device (routes with the device onRequest hook); null otherwise. */
    device: DeviceSession | null;
  }
}

export interface DeviceRoutesOptions {
  runtime: DeviceRuntime;
  /** SHA-256 fingerprint of the request's verified client certificate, or null (device-server/device-app.ts). */
  peerFingerprint(request: FastifyRequest): string | null;
}

function sendMessage<Desc extends DescMessage>(
  reply: FastifyReply,
  schema: Desc,
  message: MessageInitShape<Desc>,
  maxBytes?: number,
): FastifyReply {
  return sendBytes(reply, encodeMessage(schema, message, maxBytes === undefined ? {} : { maxBytes }));
}

function sendBytes(reply: FastifyReply, bytes: Uint8Array): FastifyReply {
  return reply
    .header("content-type", PROTOBUF_CONTENT_TYPE)
    .header("cache-control", "no-store")
    .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/**
 * HeartbeatResponse fields 2-3 (enrollment, config) of a session, encoded once per session object: a heartbeat
 * then costs the encoding of its two changing fields only. The session object is replaced whenever the device's
 * state is re-read (device-auth.ts), so the cache never outlives what it encodes.
 */
const heartbeatStaticParts = new WeakMap<DeviceSession, Uint8Array>();

function heartbeatResponseBytes(session: DeviceSession, serverTime: Date, latestVersion: number): Uint8Array {
  let fixed = heartbeatStaticParts.get(session);
  if (!fixed) {
    const enrollment = enrollmentMessage(session);
    fixed = toBinary(
      HeartbeatResponseSchema,
      create(HeartbeatResponseSchema, {
        ...(enrollment ? { enrollment } : {}),
        config: agentConfigOf(session.config),
      }),
    );
    heartbeatStaticParts.set(session, fixed);
  }
  // Fields in number order (agent.proto HeartbeatResponse): 1 server_time, [2 enrollment, 3 config], 4, 5.
  const ms = serverTime.getTime();
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1_000_000;
  const writer = new BinaryWriter();
  writer.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int64(seconds);
  if (nanos !== 0) writer.tag(2, WireType.Varint).int32(nanos);
  writer.join().raw(fixed);
  if (latestVersion !== 0) writer.tag(4, WireType.Varint).uint32(latestVersion);
  if (session.config.unenrollAllowed) writer.tag(5, WireType.Varint).bool(true);
  return writer.finish();
}

/** Encoded SyncResponses of the latest version: UpToDate and FullSnapshot are the same for every agent. */
const syncAnswers = new WeakMap<PublishedVersion, Map<string, Uint8Array>>();
/** Bounds the memory of encoded chains (each at most a snapshot's size) per version. */
const MAX_CACHED_SYNC_ANSWERS = 34;

/** `"<hex>"`, `W/"<hex>"` or a bare hex, possibly in a comma-separated list (RFC 9110 section 13.1.2). */
function etagMatches(header: string | undefined, hex: string): boolean {
  if (!header) return false;
  return header
    .split(",")
    .some((tag) => tag.trim().replace(/^W\//, "").replace(/"/g, "").toLowerCase() === hex);
}

export const deviceRoutes: FastifyPluginAsync<DeviceRoutesOptions> = async (
  app,
  { runtime, peerFingerprint },
) => {
  app.decorateRequest("device", null);

  async function authenticate(request: FastifyRequest): Promise<void> {
    const fingerprint = peerFingerprint(request);
    if (!fingerprint)
      throw new AppError("UNAUTHENTICATED", "a client certificate issued by the device CA is required");
    request.device = await runtime.authenticator.authenticate(fingerprint);
  }
  const device = (request: FastifyRequest): DeviceSession => {
    if (!request.device) throw new AppError("UNAUTHENTICATED", "device not authenticated");
    return request.device;
  };
  const authenticated = { onRequest: authenticate };

  app.post("/register", async (request, reply) => {
    const registration = runtime.registration;
    if (!registration) throw new AppError("SERVICE_UNAVAILABLE", "device registration is not configured");
    const message = decodeBody(RegisterRequestSchema, request.body);
    const registered = await registration.register(
      {
        enrollmentCode: message.enrollmentCode,
        csrPem: message.csrPem,
        platform: enumToString(PlatformSchema, message.platform) ?? "",
        osVersion: message.osVersion,
        agentVersion: message.agentVersion,
        hostname: message.hostname,
        hardwareId: message.hardwareId,
      },
      request.ip,
    );
    request.log.info({ deviceId: registered.devicePublicId }, "device registered");
    const publicKey = runtime.blocklistPublicKey;
    reply.status(201);
    return sendMessage(reply, RegisterResponseSchema, {
      deviceId: registered.devicePublicId,
      certificatePem: registered.certificate.certificatePem,
      caCertificatePem: registered.caCertificatePem,
      certificateExpiresAt: timestampFromDate(registered.certificate.notAfter),
      // Registered, not enrolled yet: the defaults (core/devices/device-config.ts).
      config: agentConfigOf(effectiveDeviceConfig(null)),
      blocklistSigningKeys: publicKey ? [signingKeyMessage(publicKey)] : [],
    });
  });

  app.post("/renew-certificate", authenticated, async (request, reply) => {
    const registration = runtime.registration;
    if (!registration) throw new AppError("SERVICE_UNAVAILABLE", "device registration is not configured");
    const message = decodeBody(RenewCertificateRequestSchema, request.body);
    const renewed = await registration.renew(device(request), message.csrPem, request.ip);
    return sendMessage(reply, RenewCertificateResponseSchema, {
      certificatePem: renewed.certificate.certificatePem,
      caCertificatePem: renewed.caCertificatePem,
      certificateExpiresAt: timestampFromDate(renewed.certificate.notAfter),
    });
  });

  app.post("/heartbeat", authenticated, async (request, reply) => {
    const message = decodeBody(HeartbeatRequestSchema, request.body);
    const outcome = await runtime.heartbeatService.heartbeat(
      device(request),
      { agentVersion: message.agentVersion, osVersion: message.osVersion },
      request.ip,
    );
    const latestVersion = runtime.sync ? await runtime.sync.latestVersionNumber() : 0;
    return sendBytes(reply, heartbeatResponseBytes(outcome.session, outcome.serverTime, latestVersion));
  });

  app.post("/sync", authenticated, async (request, reply) => {
    const sync = runtime.sync;
    if (!sync) throw new AppError("SERVICE_UNAVAILABLE", "blocklist sync is not configured");
    device(request);
    const message = decodeBody(SyncRequestSchema, request.body);
    const latest = await sync.latest();
    if (latest) {
      reply.header("etag", `"${latest.sha256Hex}"`);
      if (etagMatches(request.headers["if-none-match"], latest.sha256Hex)) return reply.status(304).send();
    }
    const plan = await sync.plan({
      protocolVersion: message.protocolVersion,
      currentVersion: message.currentVersion,
      currentSha256: message.currentSha256,
    });
    // Immutable per version: encode each distinct answer once (a chain per starting version).
    const key = plan.kind === "delta_chain" ? `chain:${plan.fromVersion}` : plan.kind;
    let answers = syncAnswers.get(plan.latest);
    if (!answers) {
      answers = new Map();
      syncAnswers.set(plan.latest, answers);
    }
    let bytes = answers.get(key);
    if (!bytes) {
      bytes = encodeMessage(SyncResponseSchema, syncResponseOf(plan, message.protocolVersion), {
        maxBytes: MAX_SYNC_RESPONSE_BYTES,
      });
      if (answers.size >= MAX_CACHED_SYNC_ANSWERS) answers.clear();
      answers.set(key, bytes);
    }
    return sendBytes(reply, bytes);
  });

  app.post("/events", authenticated, async (request, reply) => {
    const batch = decodeEventBatch(request.body);
    const outcome = await runtime.events.ingest(device(request), batch, request.ip, request.log);
    return sendMessage(reply, EventBatchResponseSchema, {
      accepted: outcome.accepted,
      duplicates: outcome.duplicates,
      rejected: outcome.rejected,
    });
  });

  app.post("/federated-reports", authenticated, async (request, reply) => {
    const reports = decodeFederatedReports(request.body);
    const outcome = await runtime.federatedReports.submit(device(request), reports, request.ip);
    return sendMessage(reply, FederatedReportBatchResponseSchema, {
      accepted: outcome.accepted,
      duplicates: outcome.duplicates,
      rejected: outcome.rejected,
    });
  });

  /** Liveness of the device listener for an authenticated device: no database, no body. */
  app.get("/ping", authenticated, async (request, reply) => {
    device(request);
    return reply.status(204).send();
  });
};

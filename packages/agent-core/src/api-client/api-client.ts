/**
 * The device API client: protobuf over mutual TLS (client key + certificate from registration, the
 * device CA pinned as the only trust anchor), keep-alive, a timeout per request, and errors classified
 * so callers can decide: "network" and "server" (5xx) are retried later, "client" (4xx) is not.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { Agent, request as httpsRequest } from "node:https";
import {
  create,
  type DescMessage,
  decodeMessage,
  type EventBatch,
  type EventBatchResponse,
  EventBatchResponseSchema,
  EventBatchSchema,
  encodeMessage,
  type FederatedReportBatchResponse,
  FederatedReportBatchResponseSchema,
  FederatedReportBatchSchema,
  type HeartbeatRequest,
  HeartbeatRequestSchema,
  type HeartbeatResponse,
  HeartbeatResponseSchema,
  MAX_SYNC_RESPONSE_BYTES,
  type MessageInitShape,
  type MessageShape,
  PROTOBUF_CONTENT_TYPE,
  type RegisterRequest,
  RegisterRequestSchema,
  type RegisterResponse,
  RegisterResponseSchema,
  type SyncRequest,
  SyncRequestSchema,
  type SyncResponse,
  SyncResponseSchema,
} from "@betblocker/proto";
import { statePaths } from "../state/agent-state";
import { writeFileAtomic } from "../state/atomic-file";

export type ApiErrorKind = "network" | "timeout" | "client" | "server" | "protocol";

export class DeviceApiError extends Error {
  constructor(
    readonly kind: ApiErrorKind,
    message: string,
    readonly status: number | null = null,
    readonly body: string | null = null,
  ) {
    super(message);
    this.name = "DeviceApiError";
  }

  /** Worth trying again later (the request may or may not have reached the server). */
  get retryable(): boolean {
    return this.kind !== "client" && this.kind !== "protocol";
  }
}

export interface DeviceIdentity {
  privateKeyPem: string;
  certificatePem: string;
  caCertificatePem: string;
}

export interface DeviceApiClientOptions {
  /** Base URL of the device listener, "https://host:port". */
  baseUrl: string;
  /** The device CA (pinned); before registration the CA the installer shipped. */
  caCertificatePem: string;
  identity?: Omit<DeviceIdentity, "caCertificatePem">;
  timeoutMs?: number;
}

export class DeviceApiClient {
  private readonly agent: Agent;
  private readonly timeoutMs: number;

  constructor(private readonly options: DeviceApiClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 4,
      ca: options.caCertificatePem,
      ...(options.identity
        ? { key: options.identity.privateKeyPem, cert: options.identity.certificatePem }
        : {}),
    });
  }

  /** A client with the identity stored in the state directory by `registerDevice`; null if none. */
  static fromStateDir(dir: string, baseUrl: string, timeoutMs?: number): DeviceApiClient | null {
    const paths = statePaths(dir);
    if (!existsSync(paths.key) || !existsSync(paths.cert) || !existsSync(paths.ca)) return null;
    return new DeviceApiClient({
      baseUrl,
      caCertificatePem: readFileSync(paths.ca, "utf8"),
      identity: {
        privateKeyPem: readFileSync(paths.key, "utf8"),
        certificatePem: readFileSync(paths.cert, "utf8"),
      },
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });
  }

  register(
    request: MessageInitShape<typeof RegisterRequestSchema> | RegisterRequest,
  ): Promise<RegisterResponse> {
    return this.post("/api/v1/device/register", RegisterRequestSchema, request, RegisterResponseSchema);
  }

  heartbeat(
    request: MessageInitShape<typeof HeartbeatRequestSchema> | HeartbeatRequest,
  ): Promise<HeartbeatResponse> {
    return this.post("/api/v1/device/heartbeat", HeartbeatRequestSchema, request, HeartbeatResponseSchema);
  }

  sync(request: MessageInitShape<typeof SyncRequestSchema> | SyncRequest): Promise<SyncResponse> {
    return this.post(
      "/api/v1/device/sync",
      SyncRequestSchema,
      request,
      SyncResponseSchema,
      MAX_SYNC_RESPONSE_BYTES,
    );
  }

  sendEvents(batch: MessageInitShape<typeof EventBatchSchema> | EventBatch): Promise<EventBatchResponse> {
    return this.post("/api/v1/device/events", EventBatchSchema, batch, EventBatchResponseSchema);
  }

  sendFederatedReports(
    batch: MessageInitShape<typeof FederatedReportBatchSchema>,
  ): Promise<FederatedReportBatchResponse> {
    return this.post(
      "/api/v1/device/federated-reports",
      FederatedReportBatchSchema,
      batch,
      FederatedReportBatchResponseSchema,
    );
  }

  close(): void {
    this.agent.destroy();
  }

  private async post<Req extends DescMessage, Res extends DescMessage>(
    path: string,
    requestSchema: Req,
    message: MessageInitShape<Req> | MessageShape<Req>,
    responseSchema: Res,
    maxResponseBytes?: number,
  ): Promise<MessageShape<Res>> {
    const body = encodeMessage(requestSchema, message);
    const { status, bytes } = await this.send(path, body, maxResponseBytes ?? 16 * 1024 * 1024);
    if (status >= 500)
      throw new DeviceApiError("server", `${path}: HTTP ${status}`, status, bytes.toString("utf8"));
    if (status >= 400)
      throw new DeviceApiError("client", `${path}: HTTP ${status}`, status, bytes.toString("utf8"));
    if (status < 200 || status >= 300)
      throw new DeviceApiError("protocol", `${path}: HTTP ${status}`, status);
    try {
      return decodeMessage(
        responseSchema,
        new Uint8Array(bytes),
        maxResponseBytes ? { maxBytes: maxResponseBytes } : {},
      );
    } catch (error) {
      throw new DeviceApiError(
        "protocol",
        `${path}: undecodable response: ${(error as Error).message}`,
        status,
      );
    }
  }

  private send(
    path: string,
    body: Uint8Array,
    maxResponseBytes: number,
  ): Promise<{ status: number; bytes: Buffer }> {
    return new Promise((resolve, reject) => {
      const request = httpsRequest(
        new URL(path, this.options.baseUrl),
        {
          method: "POST",
          agent: this.agent,
          headers: {
            "content-type": PROTOBUF_CONTENT_TYPE,
            accept: PROTOBUF_CONTENT_TYPE,
            "content-length": String(body.length),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxResponseBytes) {
              request.destroy(
                new DeviceApiError("protocol", `${path}: response larger than ${maxResponseBytes} bytes`),
              );
              return;
            }
            chunks.push(chunk);
          });
          response.on("end", () =>
            resolve({ status: response.statusCode ?? 0, bytes: Buffer.concat(chunks) }),
          );
          response.on("error", (error) => reject(classify(path, error)));
        },
      );
      request.setTimeout(this.timeoutMs, () =>
        request.destroy(new DeviceApiError("timeout", `${path}: no answer within ${this.timeoutMs} ms`)),
      );
      request.on("error", (error) => reject(classify(path, error)));
      request.end(body);
    });
  }
}

function classify(path: string, error: Error): DeviceApiError {
  if (error instanceof DeviceApiError) return error;
  return new DeviceApiError("network", `${path}: ${error.message}`);
}

export interface RegistrationInput {
  baseUrl: string;
  /** CA that signs the device listener's certificate (shipped with the installer). */
  caCertificatePem: string;
  enrollmentCode: string;
  csrPem: string;
  privateKeyPem: string;
  request?: Omit<MessageInitShape<typeof RegisterRequestSchema>, "enrollmentCode" | "csrPem">;
  timeoutMs?: number;
}

/**
 * Register with an enrollment code and store the identity in the state directory: private key (0600),
 * certificate, the device CA (pinned from now on) and the blocklist signing public key.
 */
export async function registerDevice(stateDir: string, input: RegistrationInput): Promise<RegisterResponse> {
  const client = new DeviceApiClient({
    baseUrl: input.baseUrl,
    caCertificatePem: input.caCertificatePem,
    ...(input.timeoutMs !== undefined ? { timeoutMs: input.timeoutMs } : {}),
  });
  try {
    const response = await client.register(
      create(RegisterRequestSchema, {
        ...input.request,
        enrollmentCode: input.enrollmentCode,
        csrPem: input.csrPem,
      } as MessageInitShape<typeof RegisterRequestSchema>),
    );
    const paths = statePaths(stateDir);
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    writeFileAtomic(paths.key, input.privateKeyPem, 0o600);
    chmodSync(paths.key, 0o600);
    writeFileAtomic(paths.cert, response.certificatePem);
    writeFileAtomic(paths.ca, response.caCertificatePem || input.caCertificatePem);
    const signingKey = response.blocklistSigningKeys[0];
    if (signingKey) writeFileAtomic(paths.signingKey, signingKey.publicKey);
    return response;
  } finally {
    client.close();
  }
}

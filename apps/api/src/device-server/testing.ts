/**
 * Integration harness for the device side: the web API (startTestServer) AND the mutual-TLS device listener on
 * real ports of 127.0.0.1, sharing one device runtime over a per-file PostgreSQL database (pool as the
 * application role), with a real device CA, server certificate and blocklist signing key in a temporary
 * directory. Device requests go over real HTTPS with real client certificates.
 */
import "reflect-metadata";
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSigningKeyFiles } from "@betblocker/common";
import { MemoryRateLimitStore } from "@betblocker/core/auth/rate-limit";
import { publishBlocklist } from "@betblocker/core/blocklist/publish.service";
import { loadSigningKeyPair, type SigningKeyPair } from "@betblocker/core/blocklist/signing-key";
import type { ApiConfig } from "@betblocker/core/config/config";
import { createCsr, type DeviceCa, fingerprintOfPem } from "@betblocker/core/devices/device-ca";
import { createDeviceRuntime, type DeviceRuntime } from "@betblocker/core/devices/device-runtime";
import { upsertEntries } from "@betblocker/db/repositories/blocklist.repository";
import { createTestDatabase } from "@betblocker/db/testing";
import {
  decodeMessage,
  encodeMessage,
  type MessageInitShape,
  Platform,
  PROTOBUF_CONTENT_TYPE,
  type RegisterRequest,
  RegisterRequestSchema,
  type RegisterResponse,
  RegisterResponseSchema,
} from "@betblocker/proto";
import type { DescMessage } from "@bufbuild/protobuf";
import type { FastifyInstance } from "fastify";
import { startTestServer, TestClock, type TestServer, testApiConfig } from "../testing/test-server";
import { buildDeviceApp } from "./device-app";
import { loadDeviceTls } from "./device-tls";

export interface ClientIdentity {
  certificatePem: string;
  privateKeyPem: string;
}

export interface DeviceResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: Buffer;
  /** The JSON error envelope (or null when the body is not JSON). */
  // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected dynamically
  json: any;
}

export interface DeviceRequestOptions {
  method?: string;
  body?: Uint8Array | string;
  /** Client certificate; none when absent. */
  identity?: ClientIdentity;
  headers?: Record<string, string>;
}

export interface RegisteredTestDevice extends ClientIdentity {
  deviceId: string;
  /** devices.id */
  rowId: number;
  fingerprint: string;
  response: RegisterResponse;
}

export type RegisterFields = Partial<Omit<RegisterRequest, "$typeName" | "$unknown">>;

export interface DeviceTestServer {
  api: TestServer;
  deviceUrl: string;
  deviceApp: FastifyInstance;
  runtime: DeviceRuntime;
  ca: DeviceCa;
  signingKey: SigningKeyPair;
  clock: TestClock;
  dir: string;
  /** An HTTPS request to the device listener (trusting the device CA). */
  deviceRequest(path: string, options?: DeviceRequestOptions): Promise<DeviceResponse>;
  /** POST a protobuf message. */
  send<Desc extends DescMessage>(
    path: string,
    schema: Desc,
    message: MessageInitShape<Desc>,
    identity?: ClientIdentity,
    headers?: Record<string, string>,
  ): Promise<DeviceResponse>;
  /** A one-time enrollment code of the account. */
  enrollmentCode(accessToken: string): Promise<string>;
  /** Enrollment code + CSR -> registered device with its key and certificate. */
  registerDevice(accessToken: string, fields?: RegisterFields): Promise<RegisteredTestDevice>;
  /** Adds active entries and publishes a version (as the system); tells the sync cache. */
  publish(domains: string[]): Promise<number>;
  close(): Promise<void>;
}

export async function startDeviceTestServer(
  options: { config?: Partial<ApiConfig> } = {},
): Promise<DeviceTestServer> {
  const dir = mkdtempSync(join(tmpdir(), "bb-device-test-"));
  const db = await createTestDatabase();
  const clock = new TestClock();
  const rateLimitStore = new MemoryRateLimitStore(clock.now);
  const overrides: Partial<ApiConfig> = { exposeDevTokens: true, ...options.config };
  const config = testApiConfig(overrides);
  const tls = await loadDeviceTls({
    ...config.deviceTls,
    caKeyPath: join(dir, "device-ca.key"),
    caCertPath: join(dir, "device-ca.pem"),
    serverKeyPath: join(dir, "device-server.key"),
    serverCertPath: join(dir, "device-server.pem"),
    serverNames: ["localhost", "127.0.0.1"],
  });
  const signingKeyPath = join(dir, "blocklist-signing.key");
  generateSigningKeyFiles(signingKeyPath);
  const signingKey = loadSigningKeyPair({ signingKeyPath, publicKeyPath: `${signingKeyPath}.pub` });
  const runtime = createDeviceRuntime({
    sql: db.app,
    config: config.devices,
    clock: clock.now,
    rateLimitStore,
    ca: tls.ca,
    blocklistPublicKey: signingKey.publicKey,
  });
  const api = await startTestServer({
    db,
    clock,
    rateLimitStore,
    config: overrides,
    appOptions: { devices: runtime, blocklistSigningKey: signingKey },
  });
  const deviceApp = await buildDeviceApp({ runtime, tls: tls.material });
  await deviceApp.listen({ port: 0, host: "127.0.0.1" });
  const port = (deviceApp.server.address() as AddressInfo).port;
  const deviceUrl = `https://127.0.0.1:${port}`;

  const deviceRequest = (path: string, request: DeviceRequestOptions = {}): Promise<DeviceResponse> =>
    new Promise((resolve, reject) => {
      const body = request.body === undefined ? undefined : Buffer.from(request.body);
      const req = httpsRequest(
        `${deviceUrl}${path}`,
        {
          method: request.method ?? "POST",
          ca: tls.ca.certificatePem,
          agent: false,
          ...(request.identity
            ? { cert: request.identity.certificatePem, key: request.identity.privateKeyPem }
            : {}),
          headers: {
            ...(body !== undefined
              ? { "content-type": PROTOBUF_CONTENT_TYPE, "content-length": String(body.length) }
              : {}),
            ...request.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const bytes = Buffer.concat(chunks);
            let json: unknown = null;
            if (String(res.headers["content-type"] ?? "").startsWith("application/json")) {
              try {
                json = JSON.parse(bytes.toString("utf8"));
              } catch {
                json = null;
              }
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, json });
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });

  const server: DeviceTestServer = {
    api,
    deviceUrl,
    deviceApp,
    runtime,
    ca: tls.ca,
    signingKey,
    clock,
    dir,
    deviceRequest,
    send(path, schema, message, identity, headers) {
      return deviceRequest(path, {
        body: encodeMessage(schema, message),
        ...(identity ? { identity } : {}),
        ...(headers ? { headers } : {}),
      });
    },
    async enrollmentCode(accessToken) {
      const response = await api.request("POST", "/api/v1/devices/enrollment-codes", {
        token: accessToken,
        body: {},
      });
      if (response.status !== 201) throw new Error(`enrollment code: ${response.status} ${response.text}`);
      return response.body.code as string;
    },
    async registerDevice(accessToken, fields = {}) {
      const code = await server.enrollmentCode(accessToken);
      const csr = await createCsr({ commonName: "test-device" });
      const response = await server.send("/api/v1/device/register", RegisterRequestSchema, {
        enrollmentCode: code,
        csrPem: csr.csrPem,
        platform: Platform.LINUX,
        osVersion: "Debian 12",
        agentVersion: "1.0.0",
        hostname: `host-${Math.random().toString(36).slice(2, 8)}`,
        ...fields,
      });
      if (response.status !== 201)
        throw new Error(`register: ${response.status} ${response.bytes.toString()}`);
      const registered = decodeMessage(RegisterResponseSchema, new Uint8Array(response.bytes));
      const [row] = await db.owner<
        { id: number }[]
      >`select id from devices where public_id = ${registered.deviceId}`;
      return {
        deviceId: registered.deviceId,
        rowId: row?.id as number,
        certificatePem: registered.certificatePem,
        privateKeyPem: csr.privateKeyPem,
        fingerprint: fingerprintOfPem(registered.certificatePem),
        response: registered,
      };
    },
    async publish(domains) {
      if (domains.length > 0) {
        await upsertEntries(
          db.owner,
          domains.map((domain) => ({ domain, category: "casino" })),
          { source: "curated", status: "active", confidenceScore: 100, addedByAccountId: null },
        );
      }
      const result = await publishBlocklist(db.owner, {
        privateKey: signingKey.privateKey,
        publicKey: signingKey.publicKey,
        actor: { accountId: null, role: "admin", ip: null },
      });
      runtime.sync?.invalidate();
      return result.version;
    },
    async close() {
      await deviceApp.close();
      await api.close();
      await runtime.stop();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/**
 * Test peers for the worker's jobs, all on 127.0.0.1 and started by the test itself: a list server with
 * ETag / Last-Modified and 304 answers, a webhook receiver that verifies signatures and can fail on demand,
 * and an SMTP server (smtp-server) recording accepted messages. Plus a ServerConfig for tests.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { loadServerConfig, type ServerConfig } from "../config/config";

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export interface ListServer {
  url(path: string): string;
  /** Serves `body` at `path` with a fresh ETag and Last-Modified. */
  setList(path: string, body: string): void;
  /** Answers `path` with this status (and no list) until cleared with null. */
  setFailure(path: string, status: number | null): void;
  requests: { path: string; ifNoneMatch: string | null; status: number }[];
  close(): Promise<void>;
}

export async function startListServer(): Promise<ListServer> {
  const lists = new Map<string, { body: string; etag: string; lastModified: string }>();
  const failures = new Map<string, number>();
  const requests: ListServer["requests"] = [];
  let revision = 0;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = request.url ?? "/";
    const ifNoneMatch = (request.headers["if-none-match"] as string | undefined) ?? null;
    const answer = (status: number, body?: string, headers: Record<string, string> = {}) => {
      requests.push({ path, ifNoneMatch, status });
      response.writeHead(status, headers);
      response.end(body);
    };
    const failure = failures.get(path);
    if (failure) return answer(failure, "upstream error");
    const list = lists.get(path);
    if (!list) return answer(404, "not found");
    if (ifNoneMatch === list.etag) return answer(304);
    answer(200, list.body, {
      etag: list.etag,
      "last-modified": list.lastModified,
      "content-type": "text/plain",
    });
  });
  const port = await listen(server);
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    setList(path, body) {
      revision++;
      lists.set(path, {
        body,
        etag: `"rev-${revision}"`,
        lastModified: new Date(Date.UTC(2026, 0, 1, 0, 0, revision)).toUTCString(),
      });
    },
    setFailure(path, status) {
      if (status === null) failures.delete(path);
      else failures.set(path, status);
    },
    requests,
    close: () => close(server),
  };
}

export interface WebhookRequest {
  idempotencyKey: string;
  signatureValid: boolean;
  status: number;
  body: Record<string, unknown>;
}

export interface WebhookReceiver {
  url: string;
  secret: string;
  requests: WebhookRequest[];
  /** Status of the next answers, consumed in order; then 200. */
  failNext(...statuses: number[]): void;
  /** Forgets statuses queued by failNext that were not used. */
  clearFailures(): void;
  /** Called for every request before answering (e.g. to kill the sender mid-batch). */
  onRequest?: (request: WebhookRequest) => void;
  /** Idempotency keys answered 2xx for the first time (what the receiver acted on). */
  accepted(): string[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(
  secret = "test-webhook-secret-0123456789",
): Promise<WebhookReceiver> {
  const queue: number[] = [];
  const seen = new Set<string>();
  const acceptedKeys: string[] = [];
  const receiver: WebhookReceiver = {
    url: "",
    secret,
    requests: [],
    failNext: (...statuses) => queue.push(...statuses),
    clearFailures: () => {
      queue.length = 0;
    },
    accepted: () => [...acceptedKeys],
    close: async () => {},
  };
  const server = createServer(async (request, response) => {
    const raw = (await readBody(request)).toString("utf8");
    const timestamp = String(request.headers["x-betblocker-timestamp"] ?? "");
    const signature = String(request.headers["x-betblocker-signature"] ?? "");
    const expected = `sha256=${createHmac("sha256", secret).update(`${timestamp}.${raw}`).digest("hex")}`;
    const signatureValid =
      signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
    const status = queue.shift() ?? 200;
    const idempotencyKey = String(request.headers["idempotency-key"] ?? "");
    const entry: WebhookRequest = { idempotencyKey, signatureValid, status, body: JSON.parse(raw) };
    receiver.requests.push(entry);
    receiver.onRequest?.(entry);
    if (status >= 200 && status < 300 && signatureValid && !seen.has(idempotencyKey)) {
      seen.add(idempotencyKey);
      acceptedKeys.push(idempotencyKey);
    }
    response.writeHead(signatureValid ? status : 401);
    response.end();
  });
  const port = await listen(server);
  receiver.url = `http://127.0.0.1:${port}/hooks/betblocker`;
  receiver.close = () => close(server);
  return receiver;
}

export interface SmtpMessage {
  from: string;
  to: string[];
  data: string;
}

export interface TestSmtpServer {
  port: number;
  messages: SmtpMessage[];
  /** Reject the next `n` messages with a temporary error (451). */
  rejectNext(n: number): void;
  close(): Promise<void>;
}

export async function startSmtpServer(): Promise<TestSmtpServer> {
  const messages: SmtpMessage[] = [];
  let rejections = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        if (rejections > 0) {
          rejections--;
          const error = Object.assign(new Error("try again later"), { responseCode: 451 });
          return callback(error);
        }
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks).toString("utf8"),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    messages,
    rejectNext: (n) => {
      rejections += n;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A ServerConfig from defaults plus environment-style overrides (no file, no process.env). */
export function testConfig(env: Record<string, string> = {}): ServerConfig {
  return loadServerConfig({ env: { BETBLOCKER_DATA_DIR: "/tmp/betblocker-test-unused", ...env } });
}

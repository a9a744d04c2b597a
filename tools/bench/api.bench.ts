/**
 * Device API benchmark: `npm run bench:api`.
 *
 * Starts the real API (apps/api/src/main.ts, its own process) on the embedded PostgreSQL in a temporary data
 * directory with free ports on 127.0.0.1, registers DEVICES devices with real certificates (enrollment code +
 * CSR over HTTPS), publishes a blocklist as an admin, then drives the mutual-TLS device listener over
 * keep-alive connections (one per device, its own client certificate), CONCURRENCY requests in flight:
 *   hello      GET  /api/v1/device/ping       (TLS + routing + cached device authentication, no database)
 *   heartbeat  POST /api/v1/device/heartbeat  (coalesced last_heartbeat writes, flushed every second)
 *   sync       POST /api/v1/device/sync       (the agent holds the latest version: UpToDate)
 * Each phase runs PHASE_MS (bounded by MAX_REQUESTS_PER_PHASE). Everything stays on 127.0.0.1; the server and
 * this client share the machine's cores, so the figures are a floor for a dedicated server.
 * The LAST line is machine-readable:
 *   api heartbeats_per_s=H p99_ms=P sync_uptodate_per_s=S hello_per_s=X
 * (p99_ms is the heartbeat phase's 99th percentile latency, client-side, including TLS and HTTP.)
 */
import "reflect-metadata";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request as httpsRequest } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { fileURLToPath } from "node:url";
import { createCsr } from "@betblocker/core/devices/device-ca";
import { createSql } from "@betblocker/db/client";
import { attachRunningPostgres } from "@betblocker/db/launcher";
import {
  decodeMessage,
  encodeMessage,
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  Platform,
  PROTOBUF_CONTENT_TYPE,
  RegisterRequestSchema,
  RegisterResponseSchema,
  SyncRequestSchema,
  SyncResponseSchema,
} from "@betblocker/proto";

const DEVICES = Number(process.env.BENCH_DEVICES ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 8000);
const WARMUP_MS = 1500;
const MAX_REQUESTS_PER_PHASE = 400_000;
const START_TIMEOUT_MS = 120_000;
const BLOCKLIST_ENTRIES = 5000;

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const log = (line: string) => process.stdout.write(`${line}\n`);

async function freePort(): Promise<number> {
  return await new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

interface HttpResult {
  status: number;
  body: Buffer;
}

function send(
  url: string,
  options: {
    method: string;
    body?: Uint8Array;
    headers?: Record<string, string>;
    agent?: Agent;
    ca?: string;
  },
): Promise<HttpResult> {
  return new Promise((done, fail) => {
    const req = httpsRequest(
      url,
      {
        method: options.method,
        ...(options.agent ? { agent: options.agent } : { agent: false, ca: options.ca }),
        headers: {
          ...(options.body
            ? { "content-type": PROTOBUF_CONTENT_TYPE, "content-length": options.body.length }
            : {}),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on("error", fail);
      },
    );
    req.on("error", fail);
    req.end(options.body ? Buffer.from(options.body) : undefined);
  });
}

async function json(
  url: string,
  method: string,
  body?: unknown,
  token?: string,
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers of the API, read by this script only
): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method,
    headers: {
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function signUp(apiUrl: string, email: string): Promise<string> {
  const password = "bench Horse battery 42";
  const registered = await json(`${apiUrl}/api/v1/auth/register`, "POST", { email, password });
  const token = registered.body?.dev_verification_token;
  if (token) await json(`${apiUrl}/api/v1/auth/verify-email`, "POST", { token });
  const login = await json(`${apiUrl}/api/v1/auth/login`, "POST", { email, password });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
  return login.body.access_token as string;
}

/**
 * A keep-alive HTTP/1.1 connection over mutual TLS with one request at a time: the load generator. node:https
 * costs this client as much CPU per request as the server spends answering it, and both share the machine;
 * this one writes prebuilt request bytes and reads Content-Length framed responses (all the device listener
 * sends), so the measured figure is the server's, not the client's.
 */
class MtlsConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (result: HttpResult) => void; reject: (error: Error) => void } | null = null;

  private constructor(private readonly socket: TLSSocket) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (error) => this.fail(error));
    socket.on("close", () => this.fail(new Error("connection closed")));
  }

  static open(port: number, tls: { ca: string; cert: string; key: string }): Promise<MtlsConnection> {
    return new Promise((done, fail) => {
      const socket = tlsConnect({ host: "127.0.0.1", port, ...tls }, () => done(new MtlsConnection(socket)));
      socket.once("error", fail);
    });
  }

  /** A request prebuilt with `requestBytes`. */
  send(request: Buffer): Promise<HttpResult> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(request);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const headerEnd = this.buffer.indexOf("\r\n\r\n");
    if (headerEnd < 0 || !this.waiting) return;
    const head = this.buffer.toString("latin1", 0, headerEnd);
    const match = /\r\ncontent-length: *(\d+)/i.exec(head);
    const length = match ? Number(match[1]) : 0;
    const total = headerEnd + 4 + length;
    if (this.buffer.length < total) return;
    const status = Number(head.slice(9, 12));
    const body = this.buffer.subarray(headerEnd + 4, total);
    this.buffer = this.buffer.length > total ? this.buffer.subarray(total) : Buffer.alloc(0);
    const waiting = this.waiting;
    this.waiting = null;
    waiting.resolve({ status, body });
  }

  private fail(error: Error): void {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.reject(error);
  }
}

function requestBytes(method: string, path: string, port: number, body?: Uint8Array): Buffer {
  const head =
    `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n` +
    (body ? `content-type: ${PROTOBUF_CONTENT_TYPE}\r\ncontent-length: ${body.length}\r\n` : "") +
    "\r\n";
  return body ? Buffer.concat([Buffer.from(head, "latin1"), Buffer.from(body)]) : Buffer.from(head, "latin1");
}

interface BenchDevice {
  agent: Agent;
  tls: { ca: string; cert: string; key: string };
  connection: MtlsConnection | null;
}

interface PhaseResult {
  perSecond: number;
  p99Ms: number;
  p50Ms: number;
  errors: number;
  /** CPU time used per wall second (1.0 = one core) by this client and by the API process. */
  clientCpu: number;
  serverCpu: number;
}

let serverPid = 0;

/** user + system CPU seconds of a process, from /proc (0 where there is no /proc). */
function processCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Runs `call(device)` from CONCURRENCY loops over the devices for `durationMs`. */
async function phase(
  devices: BenchDevice[],
  durationMs: number,
  call: (device: BenchDevice) => Promise<HttpResult>,
  expectStatus: number,
): Promise<PhaseResult> {
  const latencies: number[] = [];
  let errors = 0;
  let requests = 0;
  const clientBefore = process.cpuUsage();
  const serverBefore = processCpuSeconds(serverPid);
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, devices.length) }, async (_, worker) => {
      // Each worker owns its devices (every CONCURRENCY-th), so a connection never carries two requests at once.
      const own = devices.filter((_device, index) => index % CONCURRENCY === worker);
      let turn = 0;
      while (performance.now() < deadline && requests < MAX_REQUESTS_PER_PHASE) {
        const device = own[turn++ % own.length] as BenchDevice;
        requests++;
        const t0 = performance.now();
        try {
          const result = await call(device);
          if (result.status !== expectStatus) errors++;
        } catch {
          errors++;
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = performance.now() - started;
  const clientUsage = process.cpuUsage(clientBefore);
  const serverCpu = (processCpuSeconds(serverPid) - serverBefore) / (elapsed / 1000);
  latencies.sort((a, b) => a - b);
  const pick = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    perSecond: (latencies.length / elapsed) * 1000,
    p99Ms: pick(0.99),
    p50Ms: pick(0.5),
    errors,
    clientCpu: (clientUsage.user + clientUsage.system) / 1000 / elapsed,
    serverCpu,
  };
}

async function waitFor(check: () => Promise<boolean>, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`API exited with ${child.exitCode} while waiting for ${what}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "bb-bench-api-"));
  const [apiPort, devicePort, pgPort] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(
    join(dir, "config.toml"),
    `[api]
expose_dev_tokens = true
db_pool_size = 10

[api.rate_limits]
register_per_ip = { max = 1000, window_seconds = 3600 }
login_failures_per_ip = { max = 1000, window_seconds = 900 }
token_requests_per_ip = { max = 1000, window_seconds = 60 }

[api.devices]
register_per_ip = { max = 100000, window_seconds = 3600 }
enrollment_codes_per_account = { max = 100000, window_seconds = 3600 }

[logging]
level = "warn"
`,
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BETBLOCKER_CONFIG: join(dir, "config.toml"),
    BETBLOCKER_DATA_DIR: dir,
    BETBLOCKER_PG_PORT: String(pgPort),
    BETBLOCKER_API_HOST: "127.0.0.1",
    BETBLOCKER_API_PORT: String(apiPort),
    BETBLOCKER_DEVICE_API_HOST: "127.0.0.1",
    BETBLOCKER_DEVICE_API_PORT: String(devicePort),
  };
  delete env.DATABASE_URL;
  delete env.BETBLOCKER_APP_DATABASE_URL;
  delete env.REDIS_URL;
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const deviceUrl = `https://127.0.0.1:${devicePort}/api/v1/device`;
  log(`starting the API (data dir ${dir}) ...`);
  const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "apps/api/src/main.ts")], {
    cwd: repoRoot,
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  serverPid = child.pid ?? 0;
  // Interrupted (Ctrl-C, a timeout): stop the API we started, which stops its embedded database.
  const interrupted = () => {
    child.kill("SIGTERM");
    process.exitCode = 130;
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const agents: Agent[] = [];
  const connections: MtlsConnection[] = [];
  let owner: ReturnType<typeof createSql> | null = null;
  try {
    await waitFor(async () => (await fetch(`${apiUrl}/api/health`)).ok, child, "the API");
    const ca = readFileSync(join(dir, "keys", "device-ca.pem"), "utf8");
    await waitFor(
      async () => (await send(`${deviceUrl}/ping`, { method: "GET", ca })).status === 401,
      child,
      "the device listener",
    );

    const user = await signUp(apiUrl, `bench-user-${process.pid}@example.test`);
    const adminEmail = `bench-admin-${process.pid}@example.test`;
    await signUp(apiUrl, adminEmail);
    const cluster = attachRunningPostgres(join(dir, "db"));
    if (!cluster) throw new Error("the embedded database is not running");
    owner = createSql(cluster.url("betblocker"), { max: 2 });
    await owner`update accounts set role = 'admin' where email = ${adminEmail}`;
    await owner`insert into blocklist_entries (domain, category)
                select 'bench-casino-' || g || '.example', 'casino' from generate_series(1, ${BLOCKLIST_ENTRIES}) g`;
    const admin = await signUp(apiUrl, adminEmail);
    const published = await json(`${apiUrl}/api/v1/admin/blocklist/publish`, "POST", {}, admin);
    if (published.status !== 200) throw new Error(`publish failed: ${published.status}`);

    log(`registering ${DEVICES} devices ...`);
    const registerStarted = performance.now();
    const devices: BenchDevice[] = [];
    for (let start = 0; start < DEVICES; start += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, DEVICES - start) }, async (_, i) => {
          const code = await json(`${apiUrl}/api/v1/devices/enrollment-codes`, "POST", {}, user);
          const csr = await createCsr({ commonName: `bench-${start + i}` });
          const response = await send(`${deviceUrl}/register`, {
            method: "POST",
            ca,
            body: encodeMessage(RegisterRequestSchema, {
              enrollmentCode: code.body.code,
              csrPem: csr.csrPem,
              platform: Platform.LINUX,
              agentVersion: "1.0.0",
              hostname: `bench-${start + i}`,
            }),
          });
          if (response.status !== 201)
            throw new Error(`register failed: ${response.status} ${response.body}`);
          const registered = decodeMessage(RegisterResponseSchema, new Uint8Array(response.body));
          const agent = new Agent({
            keepAlive: true,
            maxSockets: 1,
            ca,
            cert: registered.certificatePem,
            key: csr.privateKeyPem,
          });
          agents.push(agent);
          return {
            agent,
            tls: { ca, cert: registered.certificatePem, key: csr.privateKeyPem },
            connection: null,
          } satisfies BenchDevice;
        }),
      );
      devices.push(...batch);
    }
    log(
      `registered ${devices.length} devices in ${((performance.now() - registerStarted) / 1000).toFixed(1)} s`,
    );

    const heartbeatBody = encodeMessage(HeartbeatRequestSchema, { agentVersion: "1.0.0", uptimeSeconds: 60 });
    const heartbeatOnce = (device: BenchDevice) =>
      send(`${deviceUrl}/heartbeat`, { method: "POST", agent: device.agent, body: heartbeatBody });
    // Every device reports once (pending -> active, keep-alive connections open).
    for (const device of devices) {
      const response = await heartbeatOnce(device);
      if (response.status !== 200) throw new Error(`heartbeat failed: ${response.status} ${response.body}`);
    }
    const first = await heartbeatOnce(devices[0] as BenchDevice);
    const latestVersion = decodeMessage(
      HeartbeatResponseSchema,
      new Uint8Array(first.body),
    ).latestBlocklistVersion;
    const full = await send(`${deviceUrl}/sync`, {
      method: "POST",
      agent: (devices[0] as BenchDevice).agent,
      body: encodeMessage(SyncRequestSchema, { protocolVersion: 1, currentVersion: 0 }),
    });
    const latest = decodeMessage(SyncResponseSchema, new Uint8Array(full.body)).latest;
    if (!latest || latest.version !== latestVersion)
      throw new Error("sync did not return the latest version");
    const upToDateBody = encodeMessage(SyncRequestSchema, {
      protocolVersion: 1,
      currentVersion: latest.version,
      currentSha256: latest.sha256,
    });
    const check = await send(`${deviceUrl}/sync`, {
      method: "POST",
      agent: (devices[0] as BenchDevice).agent,
      body: upToDateBody,
    });
    if (decodeMessage(SyncResponseSchema, new Uint8Array(check.body)).result.case !== "upToDate") {
      throw new Error("the up-to-date sync did not answer UpToDate");
    }

    // The load: one keep-alive mTLS connection per device, opened once.
    for (const device of devices) {
      device.connection = await MtlsConnection.open(devicePort, device.tls);
      connections.push(device.connection);
    }
    const prefix = "/api/v1/device";
    const pingRequest = requestBytes("GET", `${prefix}/ping`, devicePort);
    const heartbeatRequest = requestBytes("POST", `${prefix}/heartbeat`, devicePort, heartbeatBody);
    const syncRequest = requestBytes("POST", `${prefix}/sync`, devicePort, upToDateBody);
    const over = (request: Buffer) => (device: BenchDevice) =>
      (device.connection as MtlsConnection).send(request);
    const ping = over(pingRequest);
    const heartbeat = over(heartbeatRequest);
    const sync = over(syncRequest);

    log(
      `load: ${CONCURRENCY} requests in flight over ${devices.length} mTLS keep-alive connections, ${PHASE_MS / 1000} s per phase`,
    );
    await phase(devices, WARMUP_MS, heartbeat, 200);
    const hello = await phase(devices, PHASE_MS, ping, 204);
    log(
      `hello      ${hello.perSecond.toFixed(0)}/s  p50 ${hello.p50Ms.toFixed(2)} ms  p99 ${hello.p99Ms.toFixed(2)} ms  errors ${hello.errors}  cpu client ${hello.clientCpu.toFixed(2)} server ${hello.serverCpu.toFixed(2)}`,
    );
    const beats = await phase(devices, PHASE_MS, heartbeat, 200);
    log(
      `heartbeat  ${beats.perSecond.toFixed(0)}/s  p50 ${beats.p50Ms.toFixed(2)} ms  p99 ${beats.p99Ms.toFixed(2)} ms  errors ${beats.errors}  cpu client ${beats.clientCpu.toFixed(2)} server ${beats.serverCpu.toFixed(2)}`,
    );
    const syncs = await phase(devices, PHASE_MS, sync, 200);
    log(
      `sync       ${syncs.perSecond.toFixed(0)}/s  p50 ${syncs.p50Ms.toFixed(2)} ms  p99 ${syncs.p99Ms.toFixed(2)} ms  errors ${syncs.errors}  cpu client ${syncs.clientCpu.toFixed(2)} server ${syncs.serverCpu.toFixed(2)}`,
    );

    // The coalesced writes reached the database (flush every second).
    await new Promise((r) => setTimeout(r, 1500));
    const [rows] = await owner<{ active: number; recent: number }[]>`
      select count(*) filter (where status = 'active')::int as active,
             count(*) filter (where last_heartbeat > now() - interval '30 seconds')::int as recent
      from devices`;
    log(`devices: ${rows?.active} active, ${rows?.recent} with a heartbeat in the last 30 s`);
    if (hello.errors + beats.errors + syncs.errors > 0) {
      log(`errors: ${hello.errors + beats.errors + syncs.errors} requests failed`);
    }
    log(
      `api heartbeats_per_s=${beats.perSecond.toFixed(0)} p99_ms=${beats.p99Ms.toFixed(1)} sync_uptodate_per_s=${syncs.perSecond.toFixed(0)} hello_per_s=${hello.perSecond.toFixed(0)}`,
    );
    return hello.errors + beats.errors + syncs.errors > 0 ? 1 : 0;
  } catch (error) {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? error.message : String(error)}\n${stderr}\n`,
    );
    return 1;
  } finally {
    for (const agent of agents) agent.destroy();
    for (const connection of connections) connection.close();
    await owner?.end({ timeout: 5 });
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();

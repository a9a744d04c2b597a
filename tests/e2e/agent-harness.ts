/**
 * End-to-end harness for the Linux agent: the REAL release bundle (npm run build:agent) running in a
 * network namespace as its own user with only its capabilities, the REAL API (mutual TLS, PostgreSQL)
 * and a test DNS upstream in a second namespace:
 *
 *   [ns client] dig, betblocker-agent (uid 65534) --veth 10.231.S.0/30-- [ns upstream] DNS on 10.231.S.1:53
 *        |  127.0.0.1:8443 relay (in client ns) -> unix socket -> this process -> device API on 127.0.0.1
 *
 * The unix socket crosses namespaces through the file system, so the API stays on 127.0.0.1 of the
 * test's own namespace; the test can take it "down" (connections refused) and bring it back.
 * Every address used is loopback or inside namespaces this harness created; all are removed at close.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type DeviceTestServer, startDeviceTestServer } from "@betblocker/api/device-server/testing";
import { signUp } from "@betblocker/api/testing/test-server";
import { buildAgent } from "../../apps/agent-linux/scripts/build";
import { linkNamespaces, TestNetns } from "../../apps/agent-linux/src/testing";

export const AGENT_UID = 65534;
const PROBE = join(import.meta.dirname, "netns-probe.cjs");
const REPO = resolve(import.meta.dirname, "../..");
const CAPS = "+net_admin,+net_bind_service,+dac_override";

/** setpriv: run as the agent's user, with (`caps`) or without the agent's capabilities. */
function asAgentUser(caps: boolean): string[] {
  const args = ["setpriv", `--reuid=${AGENT_UID}`, `--regid=${AGENT_UID}`, "--clear-groups"];
  return caps ? [...args, `--inh-caps=${CAPS}`, `--ambient-caps=${CAPS}`] : args;
}

export interface DigResult {
  status: string;
  ede: number | null;
  addresses: string[];
  raw: string;
}

export interface EventRow {
  event_type: string;
  metadata: Record<string, unknown>;
  event_uid: string;
}

/** Gambling domains from ../shared/data (read at run time, never copied into the repository). */
export function sharedGamblingDomains(limit = Number.POSITIVE_INFINITY): string[] {
  const path = resolve(REPO, "../shared/data/gambling-domains.csv");
  const lines = readFileSync(path, "utf8").split("\n").slice(1);
  const out: string[] = [];
  for (const line of lines) {
    const domain = line.split(",")[0]?.trim();
    if (domain) out.push(domain);
    if (out.length >= limit) break;
  }
  return out;
}

/** unix socket -> device API, with an off switch. */
class UnixRelay {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  down = false;

  constructor(
    readonly path: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      if (this.down) {
        client.destroy();
        return;
      }
      const upstream = connect(this.targetPort, "127.0.0.1");
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {});
      }
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolveListen) => server.listen(this.path, resolveListen));
    chmodSync(this.path, 0o666);
    this.server = server;
  }

  setDown(down: boolean): void {
    this.down = down;
    if (down) for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.setDown(true);
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

function waitForLine(child: ChildProcess, text: string, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolveWait, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`timed out waiting for "${text}"`)), timeoutMs);
    child.stdout?.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolveWait();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before "${text}"`));
    });
  });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs: number,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value as T;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`,
  );
}

export interface AgentHarnessOptions {
  domains: string[];
  /** protection_config.heartbeat_interval_seconds for the enrollment (30..86400). */
  heartbeatSeconds?: number;
  checkIntervalSeconds?: number;
  syncIntervalSeconds?: number;
  /** Namespace pair subnet (10.231.S.0/30). */
  subnet?: number;
}

export class AgentHarness {
  server!: DeviceTestServer;
  token!: string;
  client!: TestNetns;
  upstreamNs!: TestNetns;
  upstreamAddress = "";
  readonly dir = mkdtempSync(join(tmpdir(), "bb-agent-e2e-"));
  readonly stateDir = join(this.dir, "state");
  readonly etcDir = join(this.dir, "etc");
  readonly configPath = join(this.etcDir, "agent.toml");
  readonly resolvConf = join(this.etcDir, "resolv.conf");
  readonly hostsPath = join(this.etcDir, "hosts");
  /** The installed release (bundle + signed manifest), owned by root like /opt would be. */
  readonly installDir = join(this.dir, "opt");
  deviceRowId = 0;
  devicePublicId = "";
  agent: ChildProcess | null = null;
  agentLog = "";
  private relay!: UnixRelay;
  private readonly children: ChildProcess[] = [];

  constructor(readonly options: AgentHarnessOptions) {}

  get bundle(): string {
    return join(this.installDir, "betblocker-agent.cjs");
  }

  async start(): Promise<void> {
    const subnet = this.options.subnet ?? 1;
    const build = await buildAgent({ outDir: join(this.dir, "build"), sea: false });
    mkdirSync(this.installDir, { recursive: true });
    // Every file of the release (the native DNS addon too, when it was built) and its manifest.
    for (const file of readdirSync(build.bundleDir)) {
      writeFileSync(join(this.installDir, file), readFileSync(join(build.bundleDir, file)));
    }
    chmodSync(this.dir, 0o755);
    for (const dir of [this.stateDir, this.etcDir]) {
      mkdirSync(dir, { recursive: true });
      chownSync(dir, AGENT_UID, AGENT_UID);
    }
    writeFileSync(this.resolvConf, `nameserver ${`10.231.${subnet}.1`}\n`);
    writeFileSync(this.hostsPath, "127.0.0.1 localhost\n::1 localhost\n");

    this.server = await startDeviceTestServer();
    const owner = await signUp(this.server.api);
    this.token = owner.accessToken;
    this.relay = new UnixRelay(join(this.dir, "api.sock"), Number(new URL(this.server.deviceUrl).port));
    await this.relay.start();

    this.upstreamNs = new TestNetns("up");
    this.client = new TestNetns("cl");
    const link = linkNamespaces(this.upstreamNs, this.client, subnet);
    this.upstreamAddress = link.aAddress;
    this.client.exec(["ip", "route", "add", "default", "via", link.aAddress]);
    const upstream = this.spawnIn(this.upstreamNs, [
      process.execPath,
      PROBE,
      "serve-dns",
      link.aAddress,
      "53",
      `10.231.${subnet}.100`,
    ]);
    await waitForLine(upstream, "ready");
    const relay = this.spawnIn(this.client, [process.execPath, PROBE, "relay", "8443", this.relay.path]);
    await waitForLine(relay, "ready");

    if (this.options.domains.length > 0) await this.server.publish(this.options.domains);
    await this.enroll();
  }

  /** A helper process in a namespace that prints "ready" (netns-probe.cjs); stopped at close. */
  async startBackground(ns: TestNetns, command: string[]): Promise<void> {
    await waitForLine(this.spawnIn(ns, command), "ready");
  }

  private spawnIn(ns: TestNetns, command: string[]): ChildProcess {
    const child = spawn("ip", ["netns", "exec", ns.name, ...command], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    this.children.push(child);
    return child;
  }

  /**
   * Run the agent's CLI in the client namespace as the agent user. Asynchronous: the API relay lives in
   * this process and must keep serving while the command runs.
   */
  agentCli(
    args: string[],
    opts: { caps?: boolean; allowFail?: boolean } = {},
  ): Promise<{ code: number; output: string }> {
    const priv = asAgentUser(opts.caps === true);
    return new Promise((resolveRun, reject) => {
      execFile(
        "ip",
        ["netns", "exec", this.client.name, ...priv, process.execPath, this.bundle, ...args],
        { encoding: "utf8", timeout: 60_000 },
        (error, stdout, stderr) => {
          const output = `${stdout}${stderr}`;
          if (!error) return resolveRun({ code: 0, output });
          const code = typeof error.code === "number" ? error.code : 1;
          if (!opts.allowFail) reject(new Error(`agent ${args[0]} failed (${code}): ${output}`));
          else resolveRun({ code, output });
        },
      );
    });
  }

  private async enroll(): Promise<void> {
    const code = await this.server.enrollmentCode(this.token);
    const caPath = join(this.etcDir, "device-ca.pem");
    writeFileSync(caPath, this.server.ca.certificatePem);
    const { output } = await this.agentCli([
      "enroll",
      "--api",
      "https://127.0.0.1:8443",
      "--code",
      code,
      "--ca",
      caPath,
      "--config",
      this.configPath,
      "--state-dir",
      this.stateDir,
      "--upstream",
      `${this.upstreamAddress}:53`,
      "--resolv-conf",
      this.resolvConf,
      "--hosts",
      this.hostsPath,
      "--check-interval",
      String(this.options.checkIntervalSeconds ?? 1),
      "--sync-interval",
      String(this.options.syncIntervalSeconds ?? 10),
      "--event-flush",
      "2",
    ]);
    const match = /enrolled: device ([0-9a-f-]{36})/.exec(output);
    if (!match?.[1]) throw new Error(`unexpected enroll output: ${output}`);
    this.devicePublicId = match[1];
    const [row] = await this.server.api.db.owner<{ id: string }[]>`
      select id::text as id from devices where public_id = ${this.devicePublicId}`;
    this.deviceRowId = Number(row?.id);
    // Registration does not enroll: the owner enrolls the device (self tier) through the real API.
    const enrolled = await this.server.api.request("POST", "/api/v1/enrollments", {
      token: this.token,
      body: {
        device_id: this.devicePublicId,
        tier: "self",
        protection_config: { heartbeat_interval_seconds: this.options.heartbeatSeconds ?? 30 },
      },
    });
    if (enrolled.status !== 201) throw new Error(`enroll: HTTP ${enrolled.status} ${enrolled.text}`);
  }

  /** Start `betblocker-agent run` (watchdog supervisor + agent) and wait until it serves the list. */
  async startAgent(): Promise<void> {
    const priv = asAgentUser(true);
    const child = spawn(
      "ip",
      [
        "netns",
        "exec",
        this.client.name,
        ...priv,
        process.execPath,
        this.bundle,
        "run",
        "--config",
        this.configPath,
        "--state-dir",
        this.stateDir,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout?.on("data", (c: Buffer) => {
      this.agentLog += c.toString();
    });
    child.stderr?.on("data", (c: Buffer) => {
      this.agentLog += c.toString();
    });
    this.agent = child;
    await waitFor(
      "the agent to serve its list",
      async () => {
        const status = this.status();
        return (
          status &&
          Number(status.blocklist_version) > 0 &&
          (await this.dig("example.org")).status === "NOERROR"
        );
      },
      30_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nagent output:\n${this.agentLog.slice(-4000)}`);
    });
  }

  /** SIGTERM the supervisor and wait (bounded) for it to end. */
  async stopAgent(): Promise<number | null> {
    const child = this.agent;
    if (!child?.pid || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    process.kill(child.pid, "SIGTERM");
    const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 20_000))]);
    if (code === null && child.exitCode === null) process.kill(child.pid, "SIGKILL");
    this.agent = null;
    return code;
  }

  status(): Record<string, unknown> | null {
    const path = join(this.stateDir, "status.json");
    if (!existsSync(path)) return null;
    try {
      return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
    } catch {
      return null;
    }
  }

  /** dig in the client namespace (asynchronous, so the API relay in this process keeps serving). */
  async dig(
    name: string,
    options: { server?: string; port?: number; tcp?: boolean; type?: string } = {},
  ): Promise<DigResult> {
    const args = [
      "dig",
      "+tries=1",
      "+time=2",
      `@${options.server ?? "127.0.0.1"}`,
      "-p",
      String(options.port ?? 53),
      ...(options.tcp ? ["+tcp"] : []),
      name,
      options.type ?? "A",
    ];
    const raw = await new Promise<string>((resolveDig) => {
      execFile(
        "ip",
        ["netns", "exec", this.client.name, ...args],
        { encoding: "utf8", timeout: 15_000 },
        (error, stdout) => resolveDig(stdout || String(error ?? "")),
      );
    });
    const status =
      /status: ([A-Z]+)/.exec(raw)?.[1] ?? (/timed out|no servers/.test(raw) ? "TIMEOUT" : "ERROR");
    const ede = /EDE: (\d+)/.exec(raw)?.[1];
    const addresses = [...raw.matchAll(/\sIN\s+A\s+(\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1] as string);
    return { status, ede: ede ? Number(ede) : null, addresses, raw };
  }

  /** Wait until the agent reports an empty event queue in a status written after this call. */
  async drained(timeoutMs = 20_000): Promise<void> {
    const since = Date.now();
    await waitFor(
      "the event queue to drain",
      () => {
        const status = this.status();
        return status && Date.parse(String(status.written_at)) > since && Number(status.queued_events) === 0;
      },
      timeoutMs,
    );
  }

  setApiDown(down: boolean): void {
    this.relay.setDown(down);
  }

  async events(): Promise<EventRow[]> {
    return this.server.api.db.owner<EventRow[]>`
      select event_uid::text as event_uid, event_type::text as event_type, metadata
      from events where device_id = ${this.deviceRowId} order by created_at, event_uid`;
  }

  /** Wait until an event of `type` whose metadata matches `match` (subset) arrives; returns it. */
  async waitForEvent(
    type: string,
    match: Record<string, unknown>,
    timeoutMs: number,
    after = 0,
  ): Promise<EventRow> {
    return waitFor(
      `a ${type} event ${JSON.stringify(match)}`,
      async () =>
        (await this.events())
          .slice(after)
          .find(
            (row) =>
              row.event_type === type &&
              Object.entries(match).every(([key, value]) => row.metadata[key] === value),
          ),
      timeoutMs,
      300,
    );
  }

  async close(): Promise<void> {
    await this.stopAgent().catch(() => {});
    for (const child of this.children)
      if (child.pid && child.exitCode === null) process.kill(child.pid, "SIGKILL");
    this.client?.remove();
    this.upstreamNs?.remove();
    await this.relay?.close();
    await this.server?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

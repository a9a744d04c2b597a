/**
 * betblocker-agent: the Linux agent's command line.
 *   enroll --api URL --code CODE --ca FILE   register this device, write the config
 *   run                                       the service: watchdog supervisor + agent (systemd ExecStart)
 *   status [--json]                           what the running agent last checked
 *   install [--prefix DIR] [--unit-dir DIR]   copy the release, write the systemd unit, start it
 *   uninstall                                 only once the API says the enrollment has ended
 * Common options: --config FILE (default /etc/betblocker/agent.toml), --state-dir DIR
 * (default /var/lib/betblocker-agent). Exit codes: 0 ok, 2 usage or refused, 78 bad config.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, release } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { registerDevice } from "@betblocker/agent-core/api-client/api-client";
import { statePaths } from "@betblocker/agent-core/state/agent-state";
import { writeFileAtomic } from "@betblocker/agent-core/state/atomic-file";
import { AgentRuntime } from "@betblocker/agent-core/sync/agent-runtime";
import { checkFiles, verifyManifest } from "@betblocker/agent-core/tamper/manifest";
import { EXIT_STOPPED_ON_PURPOSE, runSupervisor } from "@betblocker/agent-core/tamper/watchdog";
import { createCsr } from "@betblocker/core/devices/device-ca";
import { Platform } from "@betblocker/proto";
import { startAgent } from "./agent";
import {
  ConfigError,
  DEFAULT_CONFIG_PATH,
  DEFAULT_STATE_DIR,
  listenParts,
  loadAgentConfig,
  renderAgentConfig,
} from "./config";
import { linuxBridgeFor } from "./linux-bridge";
import { linuxStatePaths } from "./paths";
import { UNIT_NAME, unitText } from "./systemd";
import { AGENT_VERSION, isSingleExecutable, MANIFEST_FILE, releasePublicKey, selfPath } from "./version";

export const USAGE = `usage: betblocker-agent <command> [options]
  enroll --api URL --code CODE --ca FILE [--listen IP:PORT] [--upstream IP:PORT ...]
         [--resolver auto|resolv.conf|systemd-resolved|off] [--resolv-conf FILE] [--hosts FILE]
         [--no-firewall] [--check-interval SECONDS] [--sync-interval SECONDS] [--event-flush SECONDS]
  run [--no-watchdog]
  status [--json]
  install [--prefix DIR] [--unit-dir DIR] [--user NAME] [--no-start]
  uninstall [--prefix DIR] [--unit-dir DIR]
common: --config FILE (default ${DEFAULT_CONFIG_PATH}) --state-dir DIR (default ${DEFAULT_STATE_DIR})
`;

class UsageError extends Error {}

type Out = { log: (line: string) => void; error: (line: string) => void };

const common = {
  config: { type: "string", default: DEFAULT_CONFIG_PATH },
  "state-dir": { type: "string", default: DEFAULT_STATE_DIR },
} as const;

type ArgValues = Record<string, string | boolean | (string | boolean)[] | undefined>;
type OptionSpec = Record<
  string,
  { type: "string" | "boolean"; multiple?: boolean; default?: string | boolean }
>;

function parse(args: string[], options: OptionSpec): ArgValues {
  try {
    return parseArgs({ args, options: { ...common, ...options }, allowPositionals: false, strict: true })
      .values as ArgValues;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export async function main(argv: string[], out: Out = defaultOut): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "enroll":
        return await enroll(rest, out);
      case "run":
        return await run(rest, out);
      case "status":
        return status(rest, out);
      case "install":
        return await install(rest, out);
      case "uninstall":
        return await uninstall(rest, out);
      case "--version":
      case "version":
        out.log(AGENT_VERSION);
        return 0;
      case undefined:
      case "help":
      case "--help":
        out.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      out.error(`betblocker-agent: ${error.message}\n${USAGE}`);
      return 2;
    }
    if (error instanceof ConfigError) {
      out.error(error.message);
      return 78;
    }
    out.error(`betblocker-agent: ${(error as Error).message}`);
    return 1;
  }
}

const defaultOut: Out = {
  log: (line) => process.stdout.write(`${line}\n`),
  error: (line) => process.stderr.write(`${line}\n`),
};

async function enroll(args: string[], out: Out): Promise<number> {
  const v = parse(args, {
    api: { type: "string" },
    code: { type: "string" },
    ca: { type: "string" },
    listen: { type: "string" },
    upstream: { type: "string", multiple: true },
    resolver: { type: "string" },
    "resolv-conf": { type: "string" },
    hosts: { type: "string" },
    "no-firewall": { type: "boolean", default: false },
    "check-interval": { type: "string" },
    "sync-interval": { type: "string" },
    "event-flush": { type: "string" },
  });
  if (!v.api || !v.code || !v.ca) throw new UsageError("enroll needs --api, --code and --ca");
  const configPath = resolve(String(v.config));
  const stateDir = resolve(String(v["state-dir"]));
  if (existsSync(statePaths(stateDir).cert)) {
    out.error(`already enrolled (${statePaths(stateDir).cert} exists); uninstall first`);
    return 2;
  }
  const int = (name: string, text: unknown) => {
    const n = Number(text);
    if (!Number.isInteger(n)) throw new UsageError(`--${name} must be a whole number of seconds`);
    return n;
  };
  // Validate everything before the one-time code is spent.
  const configText = renderAgentConfig({
    api_url: String(v.api),
    dns: {
      ...(v.listen ? { listen: String(v.listen) } : {}),
      ...(v.upstream ? { upstreams: (v.upstream as string[]).map(String) } : {}),
    },
    enforcement: {
      ...(v.resolver ? { resolver: String(v.resolver) as "auto" } : {}),
      ...(v["resolv-conf"] ? { resolv_conf_path: resolve(String(v["resolv-conf"])) } : {}),
      ...(v.hosts ? { hosts_path: resolve(String(v.hosts)) } : {}),
      ...(v["no-firewall"] ? { firewall: false } : {}),
      ...(v["check-interval"] ? { check_interval_seconds: int("check-interval", v["check-interval"]) } : {}),
    },
    sync: {
      ...(v["sync-interval"] ? { interval_seconds: int("sync-interval", v["sync-interval"]) } : {}),
      ...(v["event-flush"] ? { event_flush_seconds: int("event-flush", v["event-flush"]) } : {}),
    },
  });
  const caPem = readFileSync(String(v.ca), "utf8");
  const csr = await createCsr({ commonName: `betblocker-agent ${hostname()}` });
  const response = await registerDevice(stateDir, {
    baseUrl: String(v.api),
    caCertificatePem: caPem,
    enrollmentCode: String(v.code),
    csrPem: csr.csrPem,
    privateKeyPem: csr.privateKeyPem,
    request: {
      platform: Platform.LINUX,
      osVersion: `Linux ${release()}`,
      agentVersion: AGENT_VERSION,
      hostname: hostname(),
    },
  });
  mkdirSync(dirname(configPath), { recursive: true });
  writeFileAtomic(configPath, configText, 0o644);
  writeFileAtomic(linuxStatePaths(stateDir).goodConfig, configText, 0o600);
  out.log(`enrolled: device ${response.deviceId}; config ${configPath}; state ${stateDir}`);
  return 0;
}

async function run(args: string[], out: Out): Promise<number> {
  const v = parse(args, {
    child: { type: "boolean", default: false },
    "no-watchdog": { type: "boolean", default: false },
  });
  const configPath = resolve(String(v.config));
  const stateDir = resolve(String(v["state-dir"]));
  const log = (message: string) => out.error(`betblocker-agent[${process.pid}]: ${message}`);
  if (!v.child && !v["no-watchdog"]) {
    // Supervisor: restarts the agent at once when it is killed, and journals the kill for it to report.
    const self = isSingleExecutable() ? [] : [...process.execArgv, selfPath()];
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const supervisor = runSupervisor({
      command: process.execPath,
      args: [...self, "run", "--child", "--config", configPath, "--state-dir", stateDir],
      journalPath: linuxStatePaths(stateDir).watchdogJournal,
      pingTimeoutMs: 20_000,
      restartBackoffMs: { min: 250, max: 30_000 },
      log,
    });
    return supervisor.done;
  }
  const agent = await startAgent({
    configPath,
    stateDir,
    mainPid: v.child ? process.ppid : process.pid,
    supervised: Boolean(v.child),
    log,
  });
  log(`serving DNS on port ${agent.dnsPort}, list version ${agent.runtime.blocklist.version}`);
  return new Promise<number>((resolveExit) => {
    const onSignal = (signal: NodeJS.Signals) => {
      const authorized = existsSync(linuxStatePaths(stateDir).stopAuthorized);
      log(`${signal}: stopping${authorized ? " (authorized uninstall)" : ""}`);
      void agent
        .stop(authorized ? "authorized" : "signal")
        .then(() => resolveExit(authorized ? EXIT_STOPPED_ON_PURPOSE : 0));
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  });
}

function status(args: string[], out: Out): number {
  const v = parse(args, { json: { type: "boolean", default: false } });
  const stateDir = resolve(String(v["state-dir"]));
  const path = linuxStatePaths(stateDir).status;
  if (!existsSync(statePaths(stateDir).cert)) {
    out.log("not enrolled");
    return 3;
  }
  if (!existsSync(path)) {
    out.log("enrolled, agent has not run yet");
    return 3;
  }
  const text = readFileSync(path, "utf8");
  const data = JSON.parse(text) as Record<string, unknown>;
  const age = Date.now() - Date.parse(String(data.written_at));
  let alive = false;
  try {
    process.kill(Number(data.pid), 0);
    alive = true;
  } catch {
    alive = false;
  }
  if (v.json) {
    out.log(JSON.stringify({ ...data, running: alive, status_age_ms: age }));
    return alive ? 0 : 1;
  }
  out.log(`agent ${String(data.agent_version)} pid ${String(data.pid)} ${alive ? "running" : "NOT running"}`);
  out.log(
    `device ${String(data.device_id)}  list version ${String(data.blocklist_version)}  last sync ${String(data.last_sync_at)}`,
  );
  out.log(
    `dns ${String(data.dns)}  blocked ${String(data.blocked_total)}  queued events ${String(data.queued_events)}`,
  );
  const report = data.checks as { checks?: { check: string; status: string; details: string }[] } | null;
  for (const check of report?.checks ?? []) {
    out.log(`  ${check.status.padEnd(11)} ${check.check}${check.details ? `: ${check.details}` : ""}`);
  }
  return alive ? 0 : 1;
}

async function install(args: string[], out: Out): Promise<number> {
  const v = parse(args, {
    prefix: { type: "string", default: "/opt/betblocker-agent" },
    "unit-dir": { type: "string", default: "/etc/systemd/system" },
    user: { type: "string", default: "betblocker" },
    "no-start": { type: "boolean", default: false },
  });
  const publicKey = releasePublicKey();
  const sourceDir = dirname(selfPath());
  const manifestPath = join(sourceDir, MANIFEST_FILE);
  if (!publicKey || !existsSync(manifestPath)) {
    out.error("install needs a release build (npm run build:agent): this copy has no signed manifest");
    return 2;
  }
  // Refuse to install a build whose files do not match its signed manifest.
  const manifest = verifyManifest(readFileSync(manifestPath, "utf8"), publicKey);
  const mismatches = await checkFiles(manifest, sourceDir);
  if (mismatches.length > 0) {
    out.error(
      `refused: ${mismatches.length} file(s) differ from the signed manifest (${mismatches[0]?.path})`,
    );
    return 2;
  }
  const prefix = resolve(String(v.prefix));
  mkdirSync(prefix, { recursive: true, mode: 0o755 });
  for (const file of [...manifest.files.map((f) => f.path), MANIFEST_FILE]) {
    mkdirSync(dirname(join(prefix, file)), { recursive: true });
    copyFileSync(join(sourceDir, file), join(prefix, file));
  }
  const entry = join(prefix, basename(selfPath()));
  if (isSingleExecutable()) chmodSync(entry, 0o755);
  const execStart = isSingleExecutable() ? [entry] : [process.execPath, entry];
  const unitDir = resolve(String(v["unit-dir"]));
  mkdirSync(unitDir, { recursive: true });
  const unitPath = join(unitDir, UNIT_NAME);
  writeFileSync(
    unitPath,
    unitText({
      execStart,
      configPath: resolve(String(v.config)),
      stateDir: resolve(String(v["state-dir"])),
      user: String(v.user),
      watchdogSec: 30,
    }),
  );
  out.log(`installed ${manifest.files.length} file(s) to ${prefix}; unit ${unitPath}`);
  if (!existsSync("/run/systemd/system")) {
    out.log("systemd is not running here: start the agent with its ExecStart command line");
    return 0;
  }
  const sh = (cmd: string, cmdArgs: string[]) => execFileSync(cmd, cmdArgs, { stdio: "inherit" });
  try {
    execFileSync("id", [String(v.user)], { stdio: "ignore" });
  } catch {
    sh("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", String(v.user)]);
  }
  sh("systemctl", ["daemon-reload"]);
  if (!v["no-start"]) sh("systemctl", ["enable", "--now", UNIT_NAME]);
  return 0;
}

async function uninstall(args: string[], out: Out): Promise<number> {
  const v = parse(args, {
    prefix: { type: "string", default: "/opt/betblocker-agent" },
    "unit-dir": { type: "string", default: "/etc/systemd/system" },
  });
  const configPath = resolve(String(v.config));
  const stateDir = resolve(String(v["state-dir"]));
  const { config } = loadAgentConfig(configPath);
  // The API decides (unenrollment policy); the agent never decides alone.
  const runtime = AgentRuntime.open({
    stateDir,
    apiUrl: config.api_url,
    agentVersion: AGENT_VERSION,
    osVersion: `Linux ${release()}`,
  });
  const response = await runtime.heartbeat();
  await runtime.stop();
  if (!response) {
    out.error("refused: the API cannot be reached, and only the API can confirm the enrollment has ended");
    return 2;
  }
  if (!response.unenrollAllowed) {
    out.error(
      "refused: this device's enrollment is still active. Request unenrollment from the dashboard; " +
        "uninstall works once it is approved (or its delay has passed).",
    );
    return 2;
  }
  const paths = linuxStatePaths(stateDir);
  writeFileAtomic(paths.stopAuthorized, `${new Date().toISOString()}\n`, 0o600);
  if (existsSync("/run/systemd/system")) {
    try {
      execFileSync("systemctl", ["disable", "--now", UNIT_NAME], { stdio: "inherit" });
    } catch (error) {
      out.error(`systemctl disable: ${(error as Error).message}`);
    }
  } else if (existsSync(paths.status)) {
    const pid = Number((JSON.parse(readFileSync(paths.status, "utf8")) as { pid?: number }).pid);
    if (Number.isInteger(pid) && pid > 0) await stopPid(pid, 15_000);
  }
  // Only removal: the rules' uid and port do not matter for deleting the table.
  const listen = listenParts(config);
  const bridge = linuxBridgeFor(config, stateDir, {
    address: listen.address,
    dnsPort: listen.port,
    agentUid: 0,
    mainPid: process.pid,
  });
  await bridge.removeFirewall();
  await bridge.removeResolver();
  rmSync(join(resolve(String(v["unit-dir"])), UNIT_NAME), { force: true });
  rmSync(resolve(String(v.prefix)), { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(configPath, { force: true });
  out.log("uninstalled: the enrollment has ended, protection removed");
  return 0;
}

async function stopPid(pid: number, timeoutMs: number): Promise<void> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

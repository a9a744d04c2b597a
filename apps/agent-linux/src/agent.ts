/**
 * The running agent (the watchdog's child): DNS forwarder + AgentRuntime (sync, heartbeat, events) +
 * TamperMonitor over the LinuxBridge, plus the integrity, config and watchdog wiring.
 *
 * Order at start: config (restored from the last good copy if it was changed outside the agent), state
 * and the last good list from disk, DNS listener, then enforcement (resolver + nftables) and only then
 * network loops. Nothing here throws past `startAgent` for a bad file: it is quarantined or restored and
 * reported; only an unusable config with no good copy ends the process (exit 78, EX_CONFIG).
 */
import type { KeyObject } from "node:crypto";
import { copyFileSync, existsSync, readFileSync, rmSync } from "node:fs";
import { release } from "node:os";
import { join } from "node:path";
import { startDnsForwarder } from "@betblocker/agent-core/dns/forwarder";
import { useNativeAddonFile } from "@betblocker/agent-core/dns/udp-socket";
import { writeFileAtomic } from "@betblocker/agent-core/state/atomic-file";
import { AgentRuntime } from "@betblocker/agent-core/sync/agent-runtime";
import { TamperMonitor } from "@betblocker/agent-core/tamper/tamper-monitor";
import { takeJournal, WatchdogClient } from "@betblocker/agent-core/tamper/watchdog";
import { isBlockedCode } from "@betblocker/common";
import { TamperType } from "@betblocker/proto";
import {
  type AgentConfig,
  ConfigError,
  listenParts,
  loadAgentConfig,
  parseAgentConfig,
  sha256Hex,
} from "./config";
import { linuxBridgeFor } from "./linux-bridge";
import { verifiedNativeAddon } from "./native-addon";
import { linuxStatePaths } from "./paths";
import { AGENT_VERSION, installedRoot, MANIFEST_FILE, releasePublicKey } from "./version";

export interface AgentOptions {
  configPath: string;
  stateDir: string;
  /** PID systemd supervises (the watchdog supervisor, or this process without one). */
  mainPid: number;
  log: (message: string) => void;
  /** Connected to a watchdog supervisor over IPC. */
  supervised: boolean;
}

export interface RunningAgent {
  runtime: AgentRuntime;
  monitor: TamperMonitor;
  dnsPort: number;
  stop(reason: "signal" | "authorized"): Promise<void>;
}

/** Read the config; if it differs from the last good copy, restore that copy and say so. */
function resolveConfig(
  configPath: string,
  stateDir: string,
  log: (m: string) => void,
): { config: AgentConfig; sha256: string; altered: string | null } {
  const paths = linuxStatePaths(stateDir);
  const good = existsSync(paths.goodConfig) ? readFileSync(paths.goodConfig, "utf8") : null;
  let loaded: ReturnType<typeof loadAgentConfig> | null = null;
  let problem: string | null = null;
  try {
    loaded = loadAgentConfig(configPath);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problem = error.message;
  }
  if (good !== null) {
    const goodSha = sha256Hex(good);
    if (loaded && loaded.sha256 === goodSha) return { config: loaded.config, sha256: goodSha, altered: null };
    const altered = loaded
      ? `config file ${configPath} was changed outside the agent; the last good copy was restored`
      : `config file ${configPath} is unusable (${problem?.split("\n")[0]}); the last good copy was restored`;
    writeFileAtomic(configPath, good, 0o644);
    log(altered);
    return { config: parseAgentConfig(good, paths.goodConfig), sha256: goodSha, altered };
  }
  if (!loaded) throw new ConfigError(configPath, [problem ?? "unusable"]);
  // First start with this config: it becomes the good copy.
  writeFileAtomic(paths.goodConfig, readFileSync(configPath, "utf8"), 0o600);
  return { config: loaded.config, sha256: loaded.sha256, altered: null };
}

export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const { stateDir, log } = options;
  const paths = linuxStatePaths(stateDir);
  const { config, sha256: configSha, altered } = resolveConfig(options.configPath, stateDir, log);
  const listen = listenParts(config);

  const runtime = AgentRuntime.open({
    stateDir,
    apiUrl: config.api_url,
    agentVersion: AGENT_VERSION,
    osVersion: `Linux ${release()}`,
    syncIntervalSeconds: config.sync.interval_seconds,
    eventFlushSeconds: config.sync.event_flush_seconds,
    log,
  });
  const events = runtime.events;
  if (altered) events.recordTamper(TamperType.CONFIG_ALTERED, altered);

  // Kills and hangs the supervisor saw while this process was down.
  for (const entry of takeJournal(paths.watchdogJournal)) {
    events.recordTamper(
      TamperType.PROCESS_KILLED,
      `agent process ${entry.pid ?? "?"} ${entry.kind.replace("process_", "")}${entry.signal ? ` by ${entry.signal}` : ""}${
        entry.code !== null && entry.code !== undefined ? ` (exit code ${entry.code})` : ""
      } at ${new Date(entry.at).toISOString()}; restarted by the watchdog`,
    );
  }
  // A previous stop that was not authorized and left no SERVICE_STOPPED (power loss, SIGKILL of the whole
  // service) shows as a missed heartbeat on the server; nothing more is known here.
  rmSync(paths.stopAuthorized, { force: true });

  // The watchdog hears from us from the first moment: the first list may take a while to arrive.
  let stopping = false;
  const watchdog = options.supervised ? new WatchdogClient() : null;
  watchdog?.onSupervisorLost(() => {
    if (stopping) return;
    events.recordTamper(TamperType.PROCESS_KILLED, "the agent's watchdog process was killed");
    void runtime.flushEvents();
  });
  watchdog?.start(2000);

  const publicKey: KeyObject | null = releasePublicKey();
  const installDir = installedRoot();
  // A release ships the native UDP listener beside the agent: used only when it matches the manifest.
  useNativeAddonFile(await verifiedNativeAddon(installDir, publicKey, log));

  // Network loops first: with no list on disk yet, the forwarder below waits for the first sync.
  runtime.start();
  if (!runtime.blocklist.matcher)
    log("no blocklist on disk yet: waiting for the first sync before serving DNS");
  const dns = await startDnsForwarder({
    matcher: () => runtime.waitForMatcher(),
    upstreams: config.dns.upstreams,
    listen: { address: listen.address, port: listen.port },
    onBlock: events.recordBlock,
    onForward: runtime.federated.observe,
  });
  runtime.attachForwarder(dns);

  const bridge = linuxBridgeFor(config, stateDir, {
    address: listen.address,
    dnsPort: dns.port,
    agentUid: process.getuid?.() ?? 0,
    mainPid: options.mainPid,
  });
  if ((process.getuid?.() ?? 0) === 0 && config.enforcement.firewall) {
    log(
      "running as root: DNS queries of other root processes are not redirected (install runs the agent as its own user)",
    );
  }
  for (const [what, apply] of [
    ["resolver", () => bridge.applyResolver()],
    ["firewall", () => bridge.applyFirewall()],
  ] as const) {
    try {
      await apply();
    } catch (error) {
      // The monitor's first check finds it missing, reports it and retries.
      log(`could not apply ${what}: ${(error as Error).message}`);
    }
  }

  const manifestPath = installDir ? join(installDir, MANIFEST_FILE) : null;
  if (!publicKey || !manifestPath) log("integrity check off: not a release build with a manifest beside it");

  const monitor = new TamperMonitor({
    bridge,
    sink: {
      recordTamper: (type, details, expected, actual) => events.recordTamper(type, details, expected, actual),
      recordBypass: (method, details) => events.recordBypass(method, details),
      alertNow: () => void runtime.flushEvents(),
    },
    intervalMs: config.enforcement.check_interval_seconds * 1000,
    enforce: true,
    listed: (name) => {
      const matcher = runtime.blocklist.matcher;
      return matcher ? isBlockedCode(matcher.matchName(name)) : null;
    },
    ...(publicKey && manifestPath && installDir
      ? {
          integrity: {
            manifestText: () => (existsSync(manifestPath) ? readFileSync(manifestPath, "utf8") : null),
            publicKey,
            rootDir: installDir,
          },
        }
      : {}),
    configFile: {
      path: options.configPath,
      expectedSha256: () => configSha,
      restore: () => copyFileSync(paths.goodConfig, options.configPath),
    },
    listFile: { verify: () => runtime.blocklist.verifyOnDisk() },
    log,
  });

  monitor.start();
  bridge.notifyReady();
  const systemdPing = setInterval(() => bridge.notifyWatchdog(), 5000);
  systemdPing.unref();

  const writeStatus = setInterval(() => writeStatusFile(), 5000);
  writeStatus.unref();
  function writeStatusFile(): void {
    const report = monitor.lastReport;
    writeFileAtomic(
      paths.status,
      `${JSON.stringify(
        {
          pid: process.pid,
          written_at: new Date().toISOString(),
          agent_version: AGENT_VERSION,
          device_id: runtime.state.state.device_id,
          blocklist_version: runtime.blocklist.version,
          last_sync_at: runtime.state.state.last_sync_at,
          queued_events: runtime.events.queued,
          blocked_total: dns.counters.blocked,
          dns: `${listen.address}:${dns.port}`,
          checks: report ?? null,
        },
        null,
        2,
      )}\n`,
      0o644,
    );
  }
  writeStatusFile();

  return {
    runtime,
    monitor,
    dnsPort: dns.port,
    async stop(reason) {
      if (stopping) return;
      stopping = true;
      clearInterval(systemdPing);
      clearInterval(writeStatus);
      monitor.stop();
      watchdog?.stop();
      const authorized = reason === "authorized" || existsSync(paths.stopAuthorized);
      if (!authorized) {
        events.recordTamper(TamperType.SERVICE_STOPPED, "the agent service was stopped");
        // Bounded: a stop must not hang on an unreachable API; the event stays queued on disk.
        await Promise.race([runtime.flushEvents(), new Promise((r) => setTimeout(r, 3000).unref())]);
      }
      await runtime.stop();
      await dns.stop();
    },
  };
}

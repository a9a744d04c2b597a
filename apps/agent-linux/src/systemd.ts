/**
 * systemd integration: the unit file `install` writes, and sd_notify (READY=1, WATCHDOG=1).
 *
 * The unit runs the agent as its own user with just the capabilities it needs (bind :53, manage
 * nftables, rewrite the resolver file), restarts it whatever the exit (Restart=always, no start limit)
 * and kills it when it stops pinging (WatchdogSec). The agent's own cross-process watchdog (supervisor
 * and child, agent-core tamper/watchdog) sits inside this: it restarts a killed child at once and
 * reports the kill; systemd restarts the supervisor.
 */
import { execFile } from "node:child_process";
import { sbinPath } from "./sbin-path";

export const UNIT_NAME = "betblocker-agent.service";

export interface UnitSpec {
  /** Absolute command line start (node + bundle, or the single executable). */
  execStart: string[];
  configPath: string;
  stateDir: string;
  user: string;
  watchdogSec: number;
}

export function unitText(spec: UnitSpec): string {
  const command = [...spec.execStart, "run", "--config", spec.configPath, "--state-dir", spec.stateDir]
    .map(quoteArg)
    .join(" ");
  const caps = "CAP_NET_BIND_SERVICE CAP_NET_ADMIN CAP_DAC_OVERRIDE CAP_CHOWN CAP_FOWNER";
  return `# Written by \`betblocker-agent install\`. Stopping or disabling it is reported.
[Unit]
Description=BetBlocker agent (DNS filtering, tamper reporting)
Wants=network-online.target nss-lookup.target
After=network-online.target
Before=nss-lookup.target
StartLimitIntervalSec=0

[Service]
Type=notify
NotifyAccess=all
ExecStart=${command}
Restart=always
RestartSec=2
WatchdogSec=${spec.watchdogSec}
User=${spec.user}
Group=${spec.user}
AmbientCapabilities=${caps}
CapabilityBoundingSet=${caps}
NoNewPrivileges=yes
KillMode=mixed
TimeoutStopSec=15

[Install]
WantedBy=multi-user.target
`;
}

function quoteArg(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\$`])/g, "\\$1")}"`;
}

/**
 * sd_notify through `systemd-notify` (Node has no unix datagram sockets). Only when systemd set
 * NOTIFY_SOCKET; the unit has NotifyAccess=all because the supervisor's child sends the pings.
 */
export function sdNotify(state: string, mainPid: number): void {
  if (!process.env.NOTIFY_SOCKET) return;
  execFile(
    "systemd-notify",
    [`--pid=${mainPid}`, state],
    { timeout: 5000, env: { ...process.env, PATH: sbinPath() } },
    () => {},
  );
}

/**
 * PlatformBridge for Linux: resolver takeover (resolver.ts), nftables (nftables.ts), interfaces from
 * `ip -j -d link show` (the kernel's link kind: wireguard, tun, ppp...), the hosts file, sd_notify.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import {
  type EnforcementStatus,
  type FirewallCounters,
  type NetworkInterfaceInfo,
  type PlatformBridge,
  unsupported,
} from "@betblocker/agent-core/platform";
import type { AgentConfig } from "./config";
import { NftablesFirewall } from "./nftables";
import { linuxStatePaths } from "./paths";
import { type ResolverSpec, ResolverTakeover } from "./resolver";
import { sbinPath } from "./sbin-path";
import { sdNotify } from "./systemd";

export interface LinuxBridgeOptions {
  resolver: ResolverSpec;
  firewall: { enabled: boolean; table: string; dnsPort: number; agentUid: number };
  hostsPath: string;
  /** PID systemd knows as the service's main process (the supervisor). */
  mainPid: number;
  /** Wraps nft and ip (tests: ["ip", "netns", "exec", NAME]). */
  commandPrefix?: readonly string[];
}

interface IpLink {
  ifname?: string;
  flags?: string[];
  linkinfo?: { info_kind?: string };
  link_type?: string;
}

export class LinuxBridge implements PlatformBridge {
  readonly platform = "linux";
  readonly resolver: ResolverTakeover;
  private readonly firewall: NftablesFirewall | null;

  constructor(private readonly options: LinuxBridgeOptions) {
    this.resolver = new ResolverTakeover(options.resolver);
    this.firewall = options.firewall.enabled
      ? new NftablesFirewall(
          {
            table: options.firewall.table,
            dnsPort: options.firewall.dnsPort,
            agentUid: options.firewall.agentUid,
          },
          options.commandPrefix,
        )
      : null;
  }

  async resolverStatus(): Promise<EnforcementStatus> {
    return this.resolver.status();
  }

  applyResolver(): Promise<void> {
    return this.resolver.apply();
  }

  removeResolver(): Promise<void> {
    return this.resolver.remove();
  }

  async firewallStatus(): Promise<EnforcementStatus> {
    if (!this.firewall) return { intact: true, details: "firewall enforcement is off" };
    return this.firewall.status();
  }

  async firewallCounters(): Promise<FirewallCounters> {
    if (!this.firewall) return unsupported(this.platform, "firewallCounters (firewall = false)");
    return this.firewall.counters();
  }

  async applyFirewall(): Promise<void> {
    await this.firewall?.apply();
  }

  async removeFirewall(): Promise<void> {
    await this.firewall?.remove();
  }

  listInterfaces(): Promise<NetworkInterfaceInfo[]> {
    return new Promise((resolve, reject) => {
      const [command, ...args] = [...(this.options.commandPrefix ?? []), "ip", "-j", "-d", "link", "show"];
      execFile(
        command as string,
        args,
        { timeout: 10_000, maxBuffer: 8 * 1024 * 1024, env: { ...process.env, PATH: sbinPath() } },
        (error, stdout) => {
          if (error) return reject(new Error(`ip link show: ${error.message}`));
          try {
            const links = JSON.parse(String(stdout)) as IpLink[];
            resolve(
              links
                .filter((link) => typeof link.ifname === "string")
                .map((link) => ({
                  name: link.ifname as string,
                  kind: link.linkinfo?.info_kind ?? (link.link_type === "none" ? "tun" : ""),
                  up: (link.flags ?? []).includes("UP"),
                })),
            );
          } catch (parseError) {
            reject(new Error(`ip link show: unreadable output: ${(parseError as Error).message}`));
          }
        },
      );
    });
  }

  async readHostsFile(): Promise<string> {
    try {
      return await readFile(this.options.hostsPath, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return "";
      throw error;
    }
  }

  notifyWatchdog(): void {
    sdNotify("WATCHDOG=1", this.options.mainPid);
  }

  notifyReady(): void {
    sdNotify("READY=1", this.options.mainPid);
  }
}

/** The bridge for an agent config: the one place config fields map onto bridge options (run and uninstall). */
export function linuxBridgeFor(
  config: AgentConfig,
  stateDir: string,
  runtime: { address: string; dnsPort: number; agentUid: number; mainPid: number },
): LinuxBridge {
  return new LinuxBridge({
    resolver: {
      mode: config.enforcement.resolver,
      resolvConfPath: config.enforcement.resolv_conf_path,
      resolvedDropinPath: config.enforcement.resolved_dropin_path,
      address: runtime.address,
      port: runtime.dnsPort,
      backupPath: linuxStatePaths(stateDir).resolvBackup,
    },
    firewall: {
      enabled: config.enforcement.firewall,
      table: config.enforcement.firewall_table,
      dnsPort: runtime.dnsPort,
      agentUid: runtime.agentUid,
    },
    hostsPath: config.enforcement.hosts_path,
    mainPid: runtime.mainPid,
  });
}

/**
 * PlatformBridge: every operating-system call the agent makes goes through this interface, one
 * implementation per OS (apps/agent-linux for Linux). agent-core itself never touches /etc, the
 * firewall or the service manager, so the Windows/macOS/Android/iOS shims can be added later.
 *
 * An operation a platform cannot do throws `UnsupportedOperationError` (from `unsupported(op)`),
 * never a silent no-op: a silent no-op would be a bypass nobody notices.
 */

export class UnsupportedOperationError extends Error {
  constructor(
    readonly platform: string,
    readonly operation: string,
  ) {
    super(`${operation} is not supported on ${platform}`);
    this.name = "UnsupportedOperationError";
  }
}

/** The explicit "this platform cannot do that" error (style: AdGuardHome aghos.Unsupported). */
export function unsupported(platform: string, operation: string): never {
  throw new UnsupportedOperationError(platform, operation);
}

/** Whether a piece of system state the agent owns is as the agent set it. */
export interface EnforcementStatus {
  /** True when the state is exactly what `apply` would produce. */
  intact: boolean;
  /** For a person and the tamper event ("nameserver 9.9.9.9 in /etc/resolv.conf"); no domain names. */
  details: string;
}

/** Packet counters of the firewall rules (monotonic while the rules exist; reset when re-applied). */
export interface FirewallCounters {
  /** Outgoing DNS (53) to another server, redirected to the agent. */
  redirectedDns: number;
  /** Outgoing DNS-over-TLS (853) rejected. */
  rejectedDot: number;
}

export interface NetworkInterfaceInfo {
  name: string;
  /** Kernel link kind where known ("wireguard", "tun", "tap", "ppp", "ipip", ...) else "". */
  kind: string;
  /** Interface is administratively up. */
  up: boolean;
}

/** Integrity-relevant file: a path the agent installed and its role. */
export interface InstalledFile {
  path: string;
  role: "binary" | "unit" | "config" | "other";
}

export interface PlatformBridge {
  /** "linux", "windows", ... */
  readonly platform: string;

  // System resolver takeover (resolv.conf / systemd-resolved drop-in on Linux).
  resolverStatus(): Promise<EnforcementStatus>;
  applyResolver(): Promise<void>;
  removeResolver(): Promise<void>;

  // Firewall: redirect outgoing 53 not from the agent to the agent, reject 853.
  firewallStatus(): Promise<EnforcementStatus>;
  firewallCounters(): Promise<FirewallCounters>;
  applyFirewall(): Promise<void>;
  removeFirewall(): Promise<void>;

  /** Network interfaces (for VPN / tunnel detection). */
  listInterfaces(): Promise<NetworkInterfaceInfo[]>;
  /** The hosts file's text ("" when absent). */
  readHostsFile(): Promise<string>;

  /** Tell the service manager the agent is alive (systemd WATCHDOG=1); no-op when not supervised. */
  notifyWatchdog(): void;
  /** Tell the service manager startup finished (systemd READY=1). */
  notifyReady(): void;
}

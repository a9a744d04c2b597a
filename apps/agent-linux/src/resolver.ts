/**
 * System resolver takeover.
 *   resolv.conf mode: the file names only the agent (`nameserver 127.0.0.1`); the original is kept in the
 *     state directory and put back by `removeResolver` (uninstall).
 *   systemd-resolved mode: a drop-in sets the agent as the only DNS server for every domain (`Domains=~.`),
 *     so resolved's stub at 127.0.0.53 forwards to the agent; then `resolvectl`/service reload is asked.
 * "auto" picks systemd-resolved when /etc/resolv.conf is resolved's stub link, else resolv.conf.
 * Status compares what is on disk with what the agent wrote; a change is a tamper event, re-applied.
 */
import { execFile } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { writeFileAtomic } from "@betblocker/agent-core/state/atomic-file";
import { sbinPath } from "./sbin-path";

export type ResolverMode = "resolv.conf" | "systemd-resolved" | "off";

export interface ResolverSpec {
  mode: "auto" | ResolverMode;
  resolvConfPath: string;
  resolvedDropinPath: string;
  /** The agent's listener address (its port must be 53 for resolv.conf: the file has no port syntax). */
  address: string;
  port: number;
  /** Where the original resolv.conf is kept for uninstall. */
  backupPath: string;
}

const MARK = "# managed by betblocker-agent: changes are undone and reported";

export function resolvConfText(address: string): string {
  return `${MARK}\nnameserver ${address}\noptions edns0 trust-ad\n`;
}

export function resolvedDropinText(address: string, port: number): string {
  const server = port === 53 ? address : `${address}:${port}`;
  return `${MARK}\n[Resolve]\nDNS=${server}\nDomains=~.\nFallbackDNS=\nDNSOverTLS=no\n`;
}

/** Nameserver lines of a resolv.conf text, in order. */
export function nameservers(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const match = /^nameserver\s+(\S+)/.exec(line);
    if (match?.[1]) out.push(match[1]);
  }
  return out;
}

export class ResolverTakeover {
  readonly mode: ResolverMode;

  constructor(private readonly spec: ResolverSpec) {
    this.mode = spec.mode === "auto" ? detectMode(spec.resolvConfPath) : spec.mode;
  }

  async apply(): Promise<void> {
    if (this.mode === "off") return;
    if (this.mode === "resolv.conf") {
      const path = this.spec.resolvConfPath;
      if (existsSync(path) && !existsSync(this.spec.backupPath)) {
        const current = readFileSync(path, "utf8");
        if (!current.startsWith(MARK)) {
          mkdirSync(dirname(this.spec.backupPath), { recursive: true });
          writeFileAtomic(this.spec.backupPath, current, 0o600);
        }
      }
      // A symlink (e.g. to a network manager's file) is replaced by a plain file.
      if (existsSync(path) && lstatSync(path).isSymbolicLink()) rmSync(path);
      writeFileAtomic(path, resolvConfText(this.spec.address), 0o644);
      return;
    }
    mkdirSync(dirname(this.spec.resolvedDropinPath), { recursive: true });
    writeFileAtomic(
      this.spec.resolvedDropinPath,
      resolvedDropinText(this.spec.address, this.spec.port),
      0o644,
    );
    await reloadResolved();
  }

  async remove(): Promise<void> {
    if (this.mode === "resolv.conf") {
      if (existsSync(this.spec.backupPath)) {
        writeFileAtomic(this.spec.resolvConfPath, readFileSync(this.spec.backupPath, "utf8"), 0o644);
        rmSync(this.spec.backupPath);
      } else if (existsSync(this.spec.resolvConfPath)) {
        const current = readFileSync(this.spec.resolvConfPath, "utf8");
        if (current.startsWith(MARK)) rmSync(this.spec.resolvConfPath);
      }
    } else if (this.mode === "systemd-resolved") {
      rmSync(this.spec.resolvedDropinPath, { force: true });
      await reloadResolved();
    }
  }

  status(): { intact: boolean; details: string } {
    if (this.mode === "off") return { intact: true, details: "resolver takeover is off" };
    if (this.mode === "resolv.conf") {
      const path = this.spec.resolvConfPath;
      if (!existsSync(path)) return { intact: false, details: `${path} was removed` };
      const servers = nameservers(readFileSync(path, "utf8"));
      if (servers.length === 1 && servers[0] === this.spec.address) {
        return { intact: true, details: `${path} points to the agent` };
      }
      // Addresses are not domain names: they may be reported.
      return {
        intact: false,
        details: `${path} names ${servers.length ? servers.join(", ") : "no nameserver"} instead of the agent (${this.spec.address})`,
      };
    }
    const path = this.spec.resolvedDropinPath;
    const expected = resolvedDropinText(this.spec.address, this.spec.port);
    if (!existsSync(path)) return { intact: false, details: `${path} was removed` };
    if (readFileSync(path, "utf8") !== expected) return { intact: false, details: `${path} was changed` };
    return { intact: true, details: `${path} points systemd-resolved to the agent` };
  }
}

function detectMode(resolvConfPath: string): ResolverMode {
  try {
    if (lstatSync(resolvConfPath).isSymbolicLink()) {
      const target = readlinkSync(resolvConfPath);
      if (target.includes("/systemd/resolve/")) return "systemd-resolved";
    }
  } catch {
    // Missing file: resolv.conf mode creates it.
  }
  return "resolv.conf";
}

/** Ask systemd-resolved to re-read its configuration (best effort: it may not be running). */
function reloadResolved(): Promise<void> {
  return new Promise((resolve) => {
    execFile(
      "systemctl",
      ["try-reload-or-restart", "systemd-resolved.service"],
      { timeout: 10_000, env: { ...process.env, PATH: sbinPath() } },
      () => resolve(),
    );
  });
}

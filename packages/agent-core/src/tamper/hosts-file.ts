/**
 * Hosts-file override detection. A hosts line that maps a blocked name to a real address makes the
 * system resolver answer without asking the agent (glibc "files" before "dns" in nsswitch.conf), so
 * the name is reachable: a bypass. A line mapping it to a sink address (0.0.0.0, 127.0.0.1, ::, ::1)
 * is the person blocking it themselves and is fine.
 *
 * Format (hosts(5)): `address name [aliases...]`, "#" starts a comment; malformed lines are skipped,
 * as the resolver skips them.
 */
import { isIP } from "node:net";

export interface HostsEntry {
  /** 1-based line number. */
  line: number;
  /** As written, without an IPv6 zone ("%eth0"). */
  address: string;
  /** Lower-case, without a trailing dot. */
  names: string[];
}

export interface HostsParseResult {
  entries: HostsEntry[];
  /** Non-empty, non-comment lines that were not `address name...` (skipped). */
  skippedLines: number;
}

export interface HostsOverride {
  line: number;
  address: string;
  name: string;
}

export interface HostsOverrideReport {
  /** Keep on the device: these hold names. */
  overrides: HostsOverride[];
  /** Distinct listed names overridden. */
  overriddenNames: number;
  /** Lines with at least one override. */
  overrideLines: number[];
  /** For the bypass event: counts and line numbers only, never a name. Empty when no override. */
  details: string;
}

// A hostname label set as hosts(5) accepts it, loosely: letters, digits, "-", "_", ".".
const HOSTNAME = /^[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?$/;

export function parseHostsFile(text: string): HostsParseResult {
  const entries: HostsEntry[] = [];
  let skippedLines = 0;
  text.split(/\r?\n/).forEach((raw, index) => {
    const hash = raw.indexOf("#");
    const content = (hash === -1 ? raw : raw.slice(0, hash)).trim();
    if (content === "") return;
    const [address, ...rest] = content.split(/\s+/);
    const bareAddress = (address ?? "").split("%")[0] ?? "";
    const names = rest
      .map((name) => name.toLowerCase().replace(/\.$/, ""))
      .filter((name) => HOSTNAME.test(name));
    if (isIP(bareAddress) === 0 || names.length === 0) {
      skippedLines += 1;
      return;
    }
    entries.push({ line: index + 1, address: bareAddress, names });
  });
  return { entries, skippedLines };
}

const SINKS = new Set(["0.0.0.0", "127.0.0.1", "::", "::1"].map(canonicalAddress));

/** Canonical text of an IP address ("0:0:0:0:0:0:0:1" -> "::1", "::ffff:127.0.0.1" -> its IPv4). */
export function canonicalAddress(address: string): string {
  if (isIP(address) !== 6) return address;
  // The WHATWG URL parser canonicalizes IPv6 (RFC 5952 compression, lower case).
  const host = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped) {
    const high = Number.parseInt(mapped[1] ?? "0", 16);
    const low = Number.parseInt(mapped[2] ?? "0", 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return host;
}

/** True for the addresses that make a name unreachable (the person blocking it themselves). */
export function isSinkAddress(address: string): boolean {
  return SINKS.has(canonicalAddress(address));
}

/**
 * The hosts lines that point a listed name at a reachable address. `isListed` answers whether the
 * agent's blocklist blocks a name.
 */
export function findHostsOverrides(text: string, isListed: (name: string) => boolean): HostsOverrideReport {
  const overrides: HostsOverride[] = [];
  for (const entry of parseHostsFile(text).entries) {
    if (isSinkAddress(entry.address)) continue;
    for (const name of entry.names) {
      if (isListed(name)) overrides.push({ line: entry.line, address: entry.address, name });
    }
  }
  const overriddenNames = new Set(overrides.map((override) => override.name)).size;
  const overrideLines = [...new Set(overrides.map((override) => override.line))];
  const details =
    overrides.length === 0
      ? ""
      : `hosts file maps ${overriddenNames} blocked name${overriddenNames === 1 ? "" : "s"} to another address ` +
        `(line${overrideLines.length === 1 ? "" : "s"} ${overrideLines.slice(0, 20).join(", ")}` +
        `${overrideLines.length > 20 ? ", ..." : ""})`;
  return { overrides, overriddenNames, overrideLines, details };
}

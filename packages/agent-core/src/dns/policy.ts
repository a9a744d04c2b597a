/**
 * What the DNS path does with a blocked name and whether DoH/DoT provider names are blocked, derived
 * from protection_config.dns (packages/common config/protection-config.schema.ts). One mutable
 * `DnsPolicy` is shared by the stages, so a config change applies to the next query.
 */
import { isIP } from "node:net";
import type { ProtectionConfig } from "@betblocker/common/config/protection-config.schema";
import type { BlockAnswer } from "./wire";

/** TTL of the redirect A/AAAA record: short, so a changed interstitial address spreads quickly. */
export const REDIRECT_TTL_SECONDS = 60;

export type DnsProtectionConfig = ProtectionConfig["dns"];

/** Addresses of the interstitial page's host, when redirect_url names a host rather than an IP. */
export interface RedirectAddresses {
  readonly ipv4?: string;
  readonly ipv6?: string;
}

export class DnsPolicy {
  /** null: blocked names get NXDOMAIN. */
  redirect: BlockAnswer | null = null;
  /** Block the built-in DoH/DoT resolver names (block_doh or block_dot). */
  blockDohProviders = true;
  /** Bumped by every `apply`: the cache probe drops answers checked under an older policy. */
  generation = 0;

  static fromConfig(config: DnsProtectionConfig, addresses: RedirectAddresses = {}): DnsPolicy {
    const policy = new DnsPolicy();
    policy.apply(config, addresses);
    return policy;
  }

  /**
   * Apply a validated protection_config.dns. For block_response "redirect", the interstitial address
   * is the redirect_url host when it is an IP literal, otherwise `addresses` (the agent resolves the
   * host once, through the upstream, when the config arrives). Without any address the name is still
   * blocked, with NXDOMAIN: a redirect we cannot build must never turn into an allowed name.
   */
  apply(config: DnsProtectionConfig, addresses: RedirectAddresses = {}): void {
    this.generation++;
    this.blockDohProviders = config.block_doh || config.block_dot;
    this.redirect =
      config.block_response === "redirect" ? redirectAnswer(config.redirect_url, addresses) : null;
  }
}

function redirectAnswer(redirectUrl: string | null, addresses: RedirectAddresses): BlockAnswer | null {
  let ipv4 = addresses.ipv4 ?? null;
  let ipv6 = addresses.ipv6 ?? null;
  if (redirectUrl !== null) {
    let host = "";
    try {
      host = new URL(redirectUrl).hostname;
    } catch {
      host = "";
    }
    if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
    if (isIP(host) === 4) ipv4 = host;
    else if (isIP(host) === 6) ipv6 = host;
  }
  const v4 = ipv4 !== null ? ipv4Bytes(ipv4) : null;
  const v6 = ipv6 !== null ? ipv6Bytes(ipv6) : null;
  if (v4 === null && v6 === null) return null;
  return { ipv4: v4, ipv6: v6, ttl: REDIRECT_TTL_SECONDS };
}

export function ipv4Bytes(address: string): Uint8Array | null {
  if (isIP(address) !== 4) return null;
  return Uint8Array.from(address.split(".").map(Number));
}

export function ipv6Bytes(address: string): Uint8Array | null {
  if (isIP(address) !== 6) return null;
  let text = address;
  const out = new Uint8Array(16);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const lastColon = text.lastIndexOf(":");
  if (text.indexOf(".", lastColon) > 0) {
    const v4 = ipv4Bytes(text.slice(lastColon + 1))!;
    text = `${text.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, null];
  const headParts = head ? head.split(":").filter((p) => p.length > 0) : [];
  const tailParts = tail ? tail.split(":").filter((p) => p.length > 0) : [];
  const parts = [
    ...headParts,
    ...new Array<string>(8 - headParts.length - tailParts.length).fill("0"),
    ...tailParts,
  ];
  parts.forEach((part, index) => {
    const value = Number.parseInt(part, 16);
    out[index * 2] = value >>> 8;
    out[index * 2 + 1] = value & 0xff;
  });
  return out;
}

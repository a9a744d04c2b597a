/**
 * Built-in name lists that do not come from the curated blocklist.
 *
 * RESOLVER_CANARIES are answered NXDOMAIN whatever the list says, because that answer is the
 * documented off switch of a resolver bypass:
 *  - use-application-dns.net: Firefox keeps its built-in DNS-over-HTTPS off on networks where this
 *    name does not resolve (Mozilla's "canary domain" for network-level filtering);
 *  - mask.icloud.com, mask-h2.icloud.com: Apple devices turn iCloud Private Relay off when these
 *    do not resolve (Apple's guidance for networks that must filter).
 *
 * DOH_DOT_PROVIDERS are the host names of well-known public DNS-over-HTTPS (RFC 8484) and
 * DNS-over-TLS (RFC 7858) resolvers. A browser or OS that resolves one of them through us is about
 * to move its DNS past the agent; answering NXDOMAIN makes it fall back to the system resolver (or,
 * in strict modes, fail visibly instead of silently bypassing). Each entry also covers subdomains
 * (tenant endpoints such as <id>.dns.nextdns.io). Blocking the resolvers' IP addresses on port
 * 443/853 is the platform bridge's job (nftables on Linux); a name list alone cannot stop clients
 * with hard-coded addresses. Sources: the providers' own setup pages and the curl wiki list of
 * public DoH servers. Keep this list to resolver endpoints, never a provider's general web site.
 */
import type { NameSetEntry } from "./name-set";

export const RESOLVER_CANARIES: readonly string[] = [
  "use-application-dns.net",
  "mask.icloud.com",
  "mask-h2.icloud.com",
];

export const DOH_DOT_PROVIDERS: readonly string[] = [
  // Google Public DNS
  "dns.google",
  "dns.google.com",
  "8888.google",
  // Cloudflare 1.1.1.1 (incl. mozilla., security., family., chrome. subdomains) and Zero Trust gateways
  "cloudflare-dns.com",
  "one.one.one.one",
  "1dot1dot1dot1.cloudflare-dns.com",
  "cloudflare-gateway.com",
  // Quad9
  "dns.quad9.net",
  "dns9.quad9.net",
  "dns10.quad9.net",
  "dns11.quad9.net",
  "dns12.quad9.net",
  // Cisco OpenDNS
  "doh.opendns.com",
  "doh.familyshield.opendns.com",
  "doh.sandbox.opendns.com",
  // NextDNS
  "dns.nextdns.io",
  // CleanBrowsing
  "doh.cleanbrowsing.org",
  "family-filter-dns.cleanbrowsing.org",
  "adult-filter-dns.cleanbrowsing.org",
  "security-filter-dns.cleanbrowsing.org",
  // AdGuard DNS
  "dns.adguard-dns.com",
  "unfiltered.adguard-dns.com",
  "family.adguard-dns.com",
  "d.adguard-dns.com",
  "dns.adguard.com",
  "dns-family.adguard.com",
  "dns-unfiltered.adguard.com",
  // Mullvad
  "dns.mullvad.net",
  "doh.mullvad.net",
  // Control D
  "dns.controld.com",
  "freedns.controld.com",
  // dns0.eu
  "dns0.eu",
  // CIRA Canadian Shield
  "private.canadianshield.cira.ca",
  "protected.canadianshield.cira.ca",
  "family.canadianshield.cira.ca",
  // DNS.SB
  "doh.dns.sb",
  "dot.sb",
  // Comcast (Firefox TRR)
  "doh.xfinity.com",
  // Alibaba, DNSPod, 360 (common in Chinese-language browsers)
  "dns.alidns.com",
  "doh.pub",
  "dot.pub",
  "doh.360.cn",
  // Others listed as public DoH/DoT resolvers
  "ordns.he.net",
  "doh.libredns.gr",
  "dot.libredns.gr",
  "doh.applied-privacy.net",
  "dns.digitale-gesellschaft.ch",
  "dns.switch.ch",
  "doh.ffmuc.net",
  "dns.twnic.tw",
  "doh.dnslify.com",
  "dns.njal.la",
  "dns.aa.net.uk",
];

export function canaryEntries(): NameSetEntry[] {
  return RESOLVER_CANARIES.map((name) => ({ name, includeSubdomains: false }));
}

export function dohProviderEntries(): NameSetEntry[] {
  return DOH_DOT_PROVIDERS.map((name) => ({ name, includeSubdomains: true }));
}

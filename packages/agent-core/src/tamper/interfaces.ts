/**
 * VPN / tunnel interface detection from the platform's interface list. A tunnel that is up can carry
 * DNS past the agent's resolver and firewall (the VPN app's own resolver), so it is a bypass signal.
 * Classification uses the kernel link kind when the platform knows it, else the name: VPN apps name
 * their interfaces predictably (wg0, tun0, utun3, tailscale0, nordlynx, proton0...).
 */
import type { NetworkInterfaceInfo } from "../platform";

/** Kernel link kinds (`ip -d link`) that are tunnels. */
const TUNNEL_KINDS = new Set([
  "wireguard",
  "tun",
  "tap",
  "ppp",
  "ipip",
  "ip6tnl",
  "gre",
  "gretap",
  "ip6gre",
  "sit",
  "vti",
  "vti6",
  "ipsec",
  "xfrm",
  "openvpn",
]);

/** Link kinds that are never a VPN, whatever the name says. */
const NOT_TUNNEL_KINDS = new Set([
  "loopback",
  "ether",
  "ethernet",
  "veth",
  "bridge",
  "bond",
  "vlan",
  "macvlan",
  "dummy",
]);

/** Name prefixes of tunnel interfaces (case-insensitive). */
const TUNNEL_NAME =
  /^(wg|tun|tap|utun|ppp|ipsec|tailscale|zt|nordlynx|proton|mullvad|gpd|vpn|ipip|gre|sit|vti|xfrm)/i;

export type InterfaceClass = "vpn" | "other";

export function classifyInterface(info: NetworkInterfaceInfo): InterfaceClass {
  const kind = info.kind.toLowerCase();
  if (TUNNEL_KINDS.has(kind)) return "vpn";
  if (NOT_TUNNEL_KINDS.has(kind)) return "other";
  return TUNNEL_NAME.test(info.name) ? "vpn" : "other";
}

/** The VPN / tunnel interfaces that are up (down ones carry nothing). */
export function vpnInterfacesUp(interfaces: readonly NetworkInterfaceInfo[]): NetworkInterfaceInfo[] {
  return interfaces.filter((info) => info.up && classifyInterface(info) === "vpn");
}

/** For the bypass event: "wireguard interface wg0 is up" (interface names are not personal data). */
export function describeVpnInterface(info: NetworkInterfaceInfo): string {
  const kind = info.kind ? `${info.kind} ` : "";
  return `VPN/tunnel ${kind}interface ${info.name} is up`;
}

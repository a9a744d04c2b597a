import { describe, expect, test } from "vitest";
import type { NetworkInterfaceInfo } from "../platform";
import { classifyInterface, describeVpnInterface, vpnInterfacesUp } from "./interfaces";

const link = (name: string, kind = "", up = true): NetworkInterfaceInfo => ({ name, kind, up });

describe("VPN interface classification", () => {
  test("tunnel link kinds are VPNs whatever the name", () => {
    for (const kind of ["wireguard", "tun", "tap", "ppp", "ipip", "gre", "sit", "vti", "ipsec", "openvpn"]) {
      expect(classifyInterface(link("corp0", kind)), kind).toBe("vpn");
    }
  });

  test("without a kind, VPN app interface names are recognised", () => {
    for (const name of [
      "wg0",
      "tun0",
      "tap1",
      "utun3",
      "ppp0",
      "ipsec0",
      "tailscale0",
      "ztabcdef",
      "nordlynx",
      "proton0",
      "mullvad-wg",
      "WG1",
    ]) {
      expect(classifyInterface(link(name)), name).toBe("vpn");
    }
  });

  test("loopback, ethernet, wifi, veth and bridges are not VPNs, even with a tunnel-like name", () => {
    for (const info of [
      link("lo", "loopback"),
      link("eth0"),
      link("enp3s0"),
      link("wlan0"),
      link("veth12ab", "veth"),
      link("docker0", "bridge"),
      link("br0", "bridge"),
      link("tunnelbr", "bridge"),
      link("wg-lookalike", "veth"),
    ]) {
      expect(classifyInterface(info), info.name).toBe("other");
    }
  });

  test("only interfaces that are up count", () => {
    const up = vpnInterfacesUp([
      link("lo", "loopback"),
      link("wg0", "wireguard", false),
      link("tun0", "tun"),
      link("eth0", ""),
    ]);
    expect(up.map((info) => info.name)).toEqual(["tun0"]);
    expect(describeVpnInterface(link("wg0", "wireguard"))).toBe("VPN/tunnel wireguard interface wg0 is up");
  });
});

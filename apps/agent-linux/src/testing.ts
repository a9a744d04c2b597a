/**
 * Test helpers for the Linux shim: network namespaces made and removed by the test itself. Each test
 * namespace gets a random name so parallel runs never meet; only addresses inside namespaces the test
 * created are used.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

export function canUseNetns(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync("ip", ["netns", "list"], { stdio: "ignore" });
    execFileSync("nft", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export function sh(command: string, args: string[], input?: string): string {
  return execFileSync(command, args, {
    encoding: "utf8",
    input,
    stdio: ["pipe", "pipe", "pipe"],
    timeout: 20_000,
  });
}

export class TestNetns {
  readonly name: string;

  constructor(label: string) {
    this.name = `bb${label}${randomBytes(3).toString("hex")}`;
    sh("ip", ["netns", "add", this.name]);
    this.exec(["ip", "link", "set", "lo", "up"]);
  }

  /** ["ip", "netns", "exec", name]: a prefix that runs a command inside this namespace. */
  get prefix(): string[] {
    return ["ip", "netns", "exec", this.name];
  }

  exec(args: string[], input?: string): string {
    return sh("ip", ["netns", "exec", this.name, ...args], input);
  }

  remove(): void {
    try {
      sh("ip", ["netns", "del", this.name]);
    } catch {
      // Already gone.
    }
  }
}

/** A veth pair between two test namespaces, with /30 addresses from 10.231.x.0/24 (private, test-only). */
export function linkNamespaces(
  a: TestNetns,
  b: TestNetns,
  subnet: number,
): { aAddress: string; bAddress: string } {
  const aIf = `va${randomBytes(2).toString("hex")}`;
  const bIf = `vb${randomBytes(2).toString("hex")}`;
  sh("ip", ["link", "add", aIf, "netns", a.name, "type", "veth", "peer", "name", bIf, "netns", b.name]);
  const aAddress = `10.231.${subnet}.1`;
  const bAddress = `10.231.${subnet}.2`;
  a.exec(["ip", "addr", "add", `${aAddress}/30`, "dev", aIf]);
  b.exec(["ip", "addr", "add", `${bAddress}/30`, "dev", bIf]);
  a.exec(["ip", "link", "set", aIf, "up"]);
  b.exec(["ip", "link", "set", bIf, "up"]);
  return { aAddress, bAddress };
}

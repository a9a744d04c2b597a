import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { nameservers, ResolverTakeover, resolvedDropinText } from "./resolver";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bb-resolver-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function takeover(mode: "auto" | "resolv.conf" | "systemd-resolved" = "resolv.conf") {
  return new ResolverTakeover({
    mode,
    resolvConfPath: join(dir, "resolv.conf"),
    resolvedDropinPath: join(dir, "resolved.conf.d/betblocker.conf"),
    address: "127.0.0.1",
    port: 53,
    backupPath: join(dir, "state/resolv.conf.orig"),
  });
}

describe("resolver takeover", () => {
  it("points resolv.conf at the agent, keeps the original, and puts it back on remove", async () => {
    writeFileSync(join(dir, "resolv.conf"), "nameserver 192.0.2.53\nsearch example\n");
    const resolver = takeover();
    expect(resolver.status().intact).toBe(false);
    await resolver.apply();
    expect(nameservers(readFileSync(join(dir, "resolv.conf"), "utf8"))).toEqual(["127.0.0.1"]);
    expect(resolver.status()).toMatchObject({ intact: true });
    await resolver.remove();
    expect(readFileSync(join(dir, "resolv.conf"), "utf8")).toBe("nameserver 192.0.2.53\nsearch example\n");
  });

  it("finds a changed or removed resolv.conf and names what it points to", async () => {
    const resolver = takeover();
    await resolver.apply();
    writeFileSync(join(dir, "resolv.conf"), "nameserver 127.0.0.1\nnameserver 192.0.2.9 # second\n");
    expect(resolver.status()).toEqual({
      intact: false,
      details: `${join(dir, "resolv.conf")} names 127.0.0.1, 192.0.2.9 instead of the agent (127.0.0.1)`,
    });
    rmSync(join(dir, "resolv.conf"));
    expect(resolver.status().details).toMatch(/was removed/);
    await resolver.apply();
    expect(resolver.status().intact).toBe(true);
  });

  it("auto mode picks systemd-resolved for its stub link and writes a drop-in", async () => {
    symlinkSync("../run/systemd/resolve/stub-resolv.conf", join(dir, "resolv.conf"));
    const resolver = takeover("auto");
    expect(resolver.mode).toBe("systemd-resolved");
    await resolver.apply();
    expect(readFileSync(join(dir, "resolved.conf.d/betblocker.conf"), "utf8")).toBe(
      resolvedDropinText("127.0.0.1", 53),
    );
    expect(resolver.status().intact).toBe(true);
    writeFileSync(join(dir, "resolved.conf.d/betblocker.conf"), "[Resolve]\nDNS=192.0.2.1\n");
    expect(resolver.status()).toMatchObject({ intact: false });
    expect(resolvedDropinText("127.0.0.1", 5353)).toMatch(/^DNS=127\.0\.0\.1:5353$/m);
  });

  it("parses nameserver lines, ignoring comments", () => {
    expect(
      nameservers("# nameserver 1.1.1.1\nnameserver 10.0.0.1 ; x\n nameserver ::1\noptions edns0\n"),
    ).toEqual(["10.0.0.1", "::1"]);
  });
});

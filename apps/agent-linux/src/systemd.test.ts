import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UNIT_NAME, unitText } from "./systemd";

function hasSystemdAnalyze(): boolean {
  try {
    execFileSync("systemd-analyze", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bb-unit-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const spec = {
  execStart: [process.execPath, "/opt/betblocker-agent/betblocker-agent.cjs"],
  configPath: "/etc/betblocker/agent.toml",
  stateDir: "/var/lib/betblocker-agent",
  user: "betblocker",
  watchdogSec: 30,
};

describe("systemd unit", () => {
  it("restarts always, has a watchdog, and runs the agent with its config and state", () => {
    const text = unitText(spec);
    expect(text).toMatch(/^Restart=always$/m);
    expect(text).toMatch(/^WatchdogSec=30$/m);
    expect(text).toMatch(/^Type=notify$/m);
    expect(text).toMatch(/^StartLimitIntervalSec=0$/m);
    expect(text).toContain(
      `ExecStart=${process.execPath} /opt/betblocker-agent/betblocker-agent.cjs run --config /etc/betblocker/agent.toml --state-dir /var/lib/betblocker-agent`,
    );
  });

  it.runIf(hasSystemdAnalyze())("passes `systemd-analyze verify` with no warning", () => {
    const path = join(dir, UNIT_NAME);
    writeFileSync(path, unitText(spec));
    const result = spawnSync("systemd-analyze", ["verify", path], { encoding: "utf8" });
    expect(result.stderr.trim()).toBe("");
    expect(result.status).toBe(0);
    // The check can fail: a misspelt key is reported.
    writeFileSync(path, unitText(spec).replace("Restart=always", "Restart=always\nRestartSecs=2"));
    const bad = spawnSync("systemd-analyze", ["verify", path], { encoding: "utf8" });
    expect(bad.stderr).toMatch(/Unknown key 'RestartSecs'/);
  });

  it("quotes arguments with spaces", () => {
    expect(unitText({ ...spec, configPath: "/etc/bet blocker/agent.toml" })).toContain(
      '"/etc/bet blocker/agent.toml"',
    );
  });
});

function has(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

describe.runIf(has("systemd-notify") && has("python3"))("sd_notify", () => {
  it("sends WATCHDOG=1 for the main PID to NOTIFY_SOCKET", async () => {
    const { spawn } = await import("node:child_process");
    const { sdNotify } = await import("./systemd");
    const socketPath = join(dir, "notify.sock");
    // A unix datagram listener standing in for systemd (Node has no unix datagram sockets).
    const listener = spawn(
      "python3",
      [
        "-c",
        "import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint('ready',flush=True)\ns.settimeout(10)\nprint(s.recv(4096).decode(),flush=True)",
        socketPath,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      let out = "";
      const got = new Promise<string>((resolve) =>
        listener.stdout?.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          if (/WATCHDOG=1/.test(out)) resolve(out);
          else if (out.startsWith("ready") && !process.env.NOTIFY_SOCKET) {
            process.env.NOTIFY_SOCKET = socketPath;
            sdNotify("WATCHDOG=1", 4242);
          }
        }),
      );
      expect(await got).toMatch(/MAINPID=4242\nWATCHDOG=1/);
    } finally {
      delete process.env.NOTIFY_SOCKET;
      if (listener.pid && listener.exitCode === null) process.kill(listener.pid, "SIGKILL");
    }
  });

  it("does nothing without NOTIFY_SOCKET (not started by systemd)", async () => {
    const { sdNotify } = await import("./systemd");
    delete process.env.NOTIFY_SOCKET;
    expect(() => sdNotify("WATCHDOG=1", 1)).not.toThrow();
  });
});

import { describe, expect, it } from "vitest";
import { ConfigError, parseAgentConfig, renderAgentConfig } from "./config";

describe("agent config", () => {
  it("fills documented defaults from a minimal file", () => {
    const config = parseAgentConfig('api_url = "https://127.0.0.1:8443"\n');
    expect(config.dns.listen).toBe("127.0.0.1:53");
    expect(config.dns.upstreams.length).toBeGreaterThan(0);
    expect(config.enforcement).toMatchObject({ resolver: "auto", firewall: true, hosts_path: "/etc/hosts" });
    expect(config.sync.interval_seconds).toBe(3600);
  });

  it("lists every violation, each with its field", () => {
    try {
      parseAgentConfig(
        'api_url = "http://x"\nsurprise = 1\n[dns]\nlisten = "0.0.0.0:53"\nupstreams = ["dns.google"]\n[enforcement]\nhosts_path = "etc/hosts"\n',
        "agent.toml",
      );
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join("\n");
      expect(problems).toMatch(/api_url/);
      expect(problems).toMatch(/surprise/);
      expect(problems).toMatch(/dns\.listen: must be a loopback address/);
      expect(problems).toMatch(/dns\.upstreams\.0/);
      expect(problems).toMatch(/enforcement\.hosts_path: must be an absolute path/);
      expect((error as Error).message).toMatch(/^agent\.toml: invalid agent config/);
    }
  });

  it("reports broken TOML as one clear problem", () => {
    expect(() => parseAgentConfig("api_url = ", "a.toml")).toThrow(
      /a\.toml: invalid agent config:\n {2}- not valid TOML/,
    );
  });

  it("renders a file that parses back to the same settings", () => {
    const text = renderAgentConfig({
      api_url: "https://127.0.0.1:8443",
      dns: { listen: "127.0.0.1:5353", upstreams: ["10.0.0.1:53"] },
      enforcement: { firewall: false, check_interval_seconds: 2 },
    });
    const config = parseAgentConfig(text);
    expect(config.dns).toEqual({ listen: "127.0.0.1:5353", upstreams: ["10.0.0.1:53"] });
    expect(config.enforcement.firewall).toBe(false);
    expect(config.enforcement.check_interval_seconds).toBe(2);
  });

  it("refuses to render a config it could not read back", () => {
    expect(() => renderAgentConfig({ api_url: "https://x", dns: { listen: "192.0.2.1:53" } })).toThrow(
      ConfigError,
    );
  });
});

describe("configs/agent.example.toml", () => {
  it("parses, and states exactly the defaults", async () => {
    const { readFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const text = readFileSync(join(import.meta.dirname, "../../../configs/agent.example.toml"), "utf8");
    const example = parseAgentConfig(text);
    const defaults = parseAgentConfig(`api_url = "${example.api_url}"\n`);
    expect(example).toEqual(defaults);
  });
});

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "@betblocker/db/paths";
import { afterAll, describe, expect, test } from "vitest";
import { ConfigError, describeConfig, loadServerConfig } from "./config";

const dir = mkdtempSync(join(tmpdir(), "bb-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function toml(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("server configuration", () => {
  test("defaults need nothing: embedded database, key under the data dir", () => {
    const config = loadServerConfig({ env: { BETBLOCKER_DATA_DIR: dir } });
    expect(config.database.url).toBeNull();
    expect(config.database.embeddedPort).toBe(54329);
    expect(config.blocklist.signingKeyPath).toBe(join(dir, "keys", "blocklist-signing.key"));
    expect(config.blocklist.publicKeyPath).toBe(`${config.blocklist.signingKeyPath}.pub`);
    expect(config.blocklist.deltaRetentionDays).toBe(30);
  });

  test("environment variables win over the TOML file", () => {
    const file = toml("a.toml", `[blocklist]\ndelta_retention_days = 7\n[database]\nembedded_port = 60001\n`);
    const config = loadServerConfig({ file, env: { BETBLOCKER_DATA_DIR: dir, BETBLOCKER_PG_PORT: "60002" } });
    expect(config.blocklist.deltaRetentionDays).toBe(7);
    expect(config.database.embeddedPort).toBe(60002);
  });

  test("every violation is reported at once, naming the field", () => {
    const file = toml(
      "bad.toml",
      `unknown_key = 1\n[blocklist]\ndelta_retention_days = 0\n[database]\nurl = "mysql://x"\n`,
    );
    let error: unknown;
    try {
      loadServerConfig({ file, env: { BETBLOCKER_PG_PORT: "80" } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const violations = (error as ConfigError).violations.join("\n");
    expect(violations).toMatch(/unknown_key|Unrecognized key/);
    expect(violations).toMatch(/blocklist\.delta_retention_days/);
    expect(violations).toMatch(/database\.url: must be a postgres:\/\/ URL/);
    expect(violations).toMatch(/database\.embedded_port/);
  });

  test("a missing or malformed TOML file is a clear error", () => {
    expect(() => loadServerConfig({ file: join(dir, "missing.toml"), env: {} })).toThrow(/does not exist/);
    const broken = toml("broken.toml", "[blocklist\n");
    expect(() => loadServerConfig({ file: broken, env: {} })).toThrow(/not valid TOML/);
  });

  test("describeConfig masks database passwords", () => {
    const config = loadServerConfig({ env: { DATABASE_URL: "postgres://owner:s3cret@127.0.0.1:5432/bb" } });
    const text = JSON.stringify(describeConfig(config));
    expect(text).not.toContain("s3cret");
    expect(text).toContain("owner:***@");
  });
});

test("configs/server.example.toml is valid", () => {
  const file = join(repoRoot(), "configs", "server.example.toml");
  const config = loadServerConfig({ file, env: {} });
  expect(config.blocklist.deltaRetentionDays).toBe(30);
  expect(config.api.port).toBe(8080);
});

/**
 * The `betblocker` CLI end to end against a real PostgreSQL database (this file's own, cloned from the
 * migrated template): main() in-process with captured output, plus one real `npx betblocker` spawn.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { repoRoot, sharedDataDir } from "@betblocker/db/paths";
import { createTestDatabase, type TestDatabase } from "@betblocker/db/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { main } from "./main";

let db: TestDatabase;
let dir: string;

interface Run {
  code: number;
  out: string[];
  err: string[];
}

async function cli(...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

beforeAll(async () => {
  db = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), "bb-cli-"));
  process.env.DATABASE_URL = db.url;
  process.env.BETBLOCKER_DATA_DIR = dir;
});

afterAll(async () => {
  delete process.env.DATABASE_URL;
  delete process.env.BETBLOCKER_DATA_DIR;
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe("betblocker CLI", () => {
  test("usage errors exit 2, unknown command and missing arguments included", async () => {
    expect((await cli()).code).toBe(2);
    expect((await cli("frobnicate")).code).toBe(2);
    expect((await cli("blocklist", "import")).code).toBe(2);
    const noFormat = await cli("blocklist", "import", "x.txt");
    expect(noFormat.code).toBe(2);
    expect(noFormat.err.join("\n")).toMatch(/--format/);
    expect((await cli("blocklist", "import", "x.txt", "--format", "xml")).code).toBe(2);
    expect((await cli("blocklist", "import", "x.txt", "--format", "csv", "--source", "magic")).code).toBe(2);
    expect((await cli("blocklist", "check", "--bogus-flag")).code).toBe(2);
    expect((await cli("--help")).code).toBe(0);
  });

  test("keys generate writes a 0600 private key and refuses to overwrite it", async () => {
    const first = await cli("keys", "generate");
    expect(first.code).toBe(0);
    const keyPath = join(dir, "keys", "blocklist-signing.key");
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${keyPath}.pub`, "utf8")).toMatch(/BEGIN PUBLIC KEY/);
    const again = await cli("keys", "generate");
    expect(again.code).toBe(1);
    expect(again.err.join("\n")).toMatch(/refusing to overwrite/);
  });

  test("import reports each malformed line with its number and reason, skips it, and is idempotent", async () => {
    const csv = file(
      "list.csv",
      [
        "domain,category,source",
        "casino-royal.example.com,casino,x",
        "bad_domain..com,casino,x",
        "Sports-Bet.Example.NET.,sports_betting,x",
        "127.0.0.1,other,x",
        "*.wild.example.org,other,x",
      ].join("\n"),
    );
    const first = await cli("blocklist", "import", csv, "--format", "csv");
    expect(first.code).toBe(0);
    expect(first.err.some((l) => l.startsWith("line 3:"))).toBe(true);
    expect(first.err.some((l) => /^line 5: .*IP address/.test(l))).toBe(true);
    expect(first.out.at(-1)).toMatch(/entries=3 inserted=3 updated=0 unchanged=0 skipped=1 rejected=2/);
    const second = await cli("blocklist", "import", csv, "--format", "csv");
    expect(second.out.at(-1)).toMatch(/entries=3 inserted=0 updated=0 unchanged=3/);
    const [row] = await db.owner<{ n: number }[]>`select count(*)::int as n from blocklist_entries`;
    expect(row?.n).toBe(3);
  });

  test("imports hosts, adblock and domains files and an http URL served on 127.0.0.1", async () => {
    const hosts = file(
      "hosts",
      "127.0.0.1 localhost\n0.0.0.0 hosts-one.example.com hosts-two.example.com # c\n",
    );
    const adblock = file(
      "adblock.txt",
      "[Adblock Plus 2.0]\n! comment\n||adblock-bet.example.com^\n@@||allowed.example.com^\nexample.com##.ad\n",
    );
    const domains = file("domains.txt", "# comment\nplain-bet.example.com\n\n");
    expect(
      (await cli("blocklist", "import", hosts, "--format", "hosts", "--category", "casino")).out.at(-1),
    ).toMatch(/inserted=2/);
    const ab = await cli("blocklist", "import", adblock, "--format", "adblock");
    expect(ab.out.at(-1)).toMatch(/inserted=1 .*rejected=2/);
    expect(
      (await cli("blocklist", "import", domains, "--format", "domains", "--category", "lottery")).out.at(-1),
    ).toMatch(/inserted=1/);
    const [hostsRow] = await db.owner<
      { category: string }[]
    >`select category from blocklist_entries where domain = 'hosts-two.example.com'`;
    expect(hostsRow?.category).toBe("casino");

    const server: Server = createServer((_req, res) => res.end("served-bet.example.com\nnot a domain!\n"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    try {
      const viaUrl = await cli(
        "blocklist",
        "import",
        `http://127.0.0.1:${port}/list.txt`,
        "--format",
        "domains",
      );
      expect(viaUrl.code).toBe(0);
      expect(viaUrl.out.at(-1)).toMatch(/inserted=1 .*rejected=1/);
    } finally {
      server.close();
    }
    const missing = await cli("blocklist", "import", join(dir, "nope.txt"), "--format", "domains");
    expect(missing.code).toBe(1);
    expect(missing.err.join("\n")).toMatch(/does not exist/);
  });

  test("publish signs version 1, then version 2 with a delta; check explains why; the allowlist wins", async () => {
    const v1 = await cli("blocklist", "publish");
    expect(v1.code).toBe(0);
    expect(v1.out.at(-1)).toMatch(/published version 1: .*delta_bytes=none/);

    const blocked = await cli("blocklist", "check", "www.Casino-Royal.example.com.");
    expect(blocked.out.at(-1)).toBe(
      "blocked  www.casino-royal.example.com  reason=parent matched=casino-royal.example.com category=casino",
    );
    const wildcardBase = await cli("blocklist", "check", "wild.example.org");
    expect(wildcardBase.out.at(-1)).toMatch(/^allowed .*not-listed/);
    const wildcardSub = await cli("blocklist", "check", "a.wild.example.org", "--json");
    expect(JSON.parse(wildcardSub.out.at(-1) ?? "{}")).toMatchObject({
      blocked: true,
      explanation: { reason: "wildcard" },
    });

    // A help resource listed by mistake stays reachable once allowlisted.
    await cli("blocklist", "import", file("help.txt", "gamcare-help.example.org\n"), "--format", "domains");
    expect((await cli("allowlist", "add", "gamcare-help.example.org", "--reason", "help")).code).toBe(0);
    const v2 = await cli("blocklist", "publish");
    expect(v2.out.at(-1)).toMatch(/published version 2: .*delta_bytes=\d+/);
    const help = await cli("blocklist", "check", "www.gamcare-help.example.org");
    expect(help.out.at(-1)).toMatch(/^allowed .*reason=allowlist/);

    const unchanged = await cli("blocklist", "publish", "--if-changed");
    expect(unchanged.out.at(-1)).toMatch(/unchanged: version 2/);
    const [versions] = await db.owner<{ n: number; chained: boolean }[]>`
      select count(*)::int as n, bool_and(delta_binary is not null or version_number = 1) as chained from blocklist_versions`;
    expect(versions).toEqual({ n: 2, chained: true });
  });

  test("check --file prints the blocked names and ends with checked=N blocked=B allowed=A", async () => {
    const names = file(
      "names.txt",
      "casino-royal.example.com\nexample.net\n# comment\nnot..valid\nplain-bet.example.com\n",
    );
    const run = await cli("blocklist", "check", "--file", names);
    expect(run.code).toBe(0);
    expect(run.out.at(-1)).toBe("checked=3 blocked=2 allowed=1");
    expect(run.err.join("\n")).toMatch(/1 lines were not valid/);
    const json = await cli("blocklist", "check", "--file", names, "--json");
    expect(json.out.at(-1)).toBe("checked=3 blocked=2 allowed=1");
    expect(json.out.slice(0, -1).map((l) => JSON.parse(l).blocked)).toEqual([true, false, true]);
  });

  test("check --file --discovery also flags unlisted names the classifier would send to review", async () => {
    const names = file(
      "discovery.txt",
      "casino-royal.example.com\nmega-jackpot-slots-casino.example\nwikipedia.org\n",
    );
    const run = await cli("blocklist", "check", "--file", names, "--discovery");
    expect(run.code).toBe(0);
    expect(run.out.at(-1)).toBe("checked=3 blocked=1 flagged=1 allowed=1");
    expect(run.out.some((l) => l.startsWith("flagged  mega-jackpot-slots-casino.example  score="))).toBe(
      true,
    );
    expect((await cli("blocklist", "check", "x.com", "--discovery")).code).toBe(2);
  });

  test("the shared public list imports with no rejects and the popular sites stay unblocked", async () => {
    const csv = join(sharedDataDir(), "gambling-domains.csv");
    const popular = join(sharedDataDir(), "popular-domains.txt");
    const imported = await cli("blocklist", "import", csv, "--format", "csv");
    expect(imported.code).toBe(0);
    expect(imported.out.at(-1)).toMatch(/entries=68337 .*rejected=0/);
    expect((await cli("blocklist", "publish")).code).toBe(0);
    const popularRun = await cli("blocklist", "check", "--file", popular);
    expect(popularRun.out.at(-1)).toBe("checked=24783 blocked=0 allowed=24783");
    const listed = file(
      "listed.txt",
      readFileSync(csv, "utf8")
        .split("\n")
        .slice(1, 2001)
        .map((l) => l.split(",")[0])
        .join("\n"),
    );
    expect((await cli("blocklist", "check", "--file", listed)).out.at(-1)).toBe(
      "checked=2000 blocked=2000 allowed=0",
    );
  }, 60_000);

  test("export writes the active entries as domains or csv", async () => {
    const out = join(dir, "export.csv");
    const run = await cli("blocklist", "export", "--format", "csv", "--output", out);
    expect(run.code).toBe(0);
    const lines = readFileSync(out, "utf8").trim().split("\n");
    expect(lines[0]).toBe("domain,category");
    expect(lines).toContain("casino-royal.example.com,casino");
  });

  test("health is ok when everything is in place and fails without a signing key", async () => {
    const ok = await cli("health");
    expect(ok.code).toBe(0);
    expect(ok.out.at(-1)).toBe("healthy");
    process.env.BETBLOCKER_SIGNING_KEY_PATH = join(dir, "missing.key");
    try {
      const bad = await cli("health", "--json");
      expect(bad.code).toBe(1);
      expect(JSON.parse(bad.out.at(-1) ?? "{}")).toMatchObject({ status: "fail" });
    } finally {
      delete process.env.BETBLOCKER_SIGNING_KEY_PATH;
    }
  });

  test("a tampered stored version is refused with a clear error", async () => {
    await db.owner`update blocklist_versions set snapshot_binary = overlay(snapshot_binary placing '\\xff'::bytea from 200 for 1)
                   where version_number = (select max(version_number) from blocklist_versions)`;
    const run = await cli("blocklist", "check", "example.com");
    expect(run.code).toBe(1);
    expect(run.err.join("\n")).toMatch(/signature/);
  });

  test("npx betblocker runs from the repository root without a build step", async () => {
    const { stdout } = await promisify(execFile)("npx", ["betblocker", "migrate", "--status"], {
      cwd: repoRoot(),
      env: { ...process.env, DATABASE_URL: db.url },
    });
    expect(stdout.trim().split("\n").at(-1)).toMatch(/^migrations=\d+ pending=0 changed=0$/);
  }, 60_000);
});

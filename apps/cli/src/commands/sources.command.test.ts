/**
 * `betblocker sources ...` and `betblocker alerts ...` in-process against this file's own database, and the
 * worker checks of `betblocker health` (a failing source is visible there).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase, type TestDatabase } from "@betblocker/db/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { main } from "../main";

let db: TestDatabase;
let dir: string;

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

beforeAll(async () => {
  db = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), "bb-cli-sources-"));
  process.env.DATABASE_URL = db.url;
  process.env.BETBLOCKER_DATA_DIR = dir;
});

afterAll(async () => {
  delete process.env.DATABASE_URL;
  delete process.env.BETBLOCKER_DATA_DIR;
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe("betblocker sources", () => {
  test("add, fetch, list, disable, remove a file source; failures are shown with their error", async () => {
    const file = join(dir, "list.txt");
    writeFileSync(file, "casino-one.example.test\ncasino-two.example.test\n");
    expect((await cli("sources", "add", "local", file, "--format", "domains", "--license", "MIT")).code).toBe(
      0,
    );
    const duplicate = await cli("sources", "add", "local", file, "--format", "domains");
    expect(duplicate.code).toBe(1);
    expect(duplicate.err.join("\n")).toMatch(/already exists/);
    expect((await cli("sources", "add", "bad", file)).code).toBe(2);

    const fetched = await cli("sources", "fetch", "local");
    expect(fetched.code).toBe(0);
    expect(fetched.out[0]).toMatch(/^local: ok entries=2 inserted=2 /);
    expect((await cli("sources", "fetch", "local")).out[0]).toBe("local: not modified (2 entries)");

    expect(
      (await cli("sources", "add", "down", "http://127.0.0.1:9/list.txt", "--format", "hosts")).code,
    ).toBe(0);
    const failing = await cli("sources", "fetch", "down");
    expect(failing.code).toBe(1);
    expect(failing.out[0]).toMatch(/^down: error: fetch failed/);

    const listed = await cli("sources", "list");
    expect(listed.out.find((l) => l.startsWith("local "))).toMatch(/yes\s+domains\s+not_modified\s+2/);
    expect(listed.out.find((l) => l.startsWith("down "))).toMatch(/error/);
    expect(listed.out.join("\n")).toMatch(/error \(1 in a row\): fetch failed/);
    const json = JSON.parse((await cli("sources", "list", "--json")).out[0] ?? "[]");
    expect(json.find((s: { name: string }) => s.name === "down")).toMatchObject({
      last_status: "error",
      consecutive_failures: 1,
    });

    const health = await cli("health");
    expect(health.out.find((l) => l.includes("list_sources"))).toMatch(/^FAIL .*down \(1x: fetch failed/);
    expect(health.out.find((l) => l.includes("alerts"))).toMatch(/^ok .*0 dead/);

    expect((await cli("sources", "disable", "down")).code).toBe(0);
    expect((await cli("sources", "enable", "nope")).code).toBe(1);
    const removed = await cli("sources", "remove", "local");
    expect(removed.out[0]).toBe("removed local; 2 entries only it listed are now inactive");
  });

  test("alerts list shows the outbox and its dead letters; retry-dead queues them again", async () => {
    await db.owner`insert into alert_deliveries (incident_key, channel, recipient, subject, status, attempts, last_error)
                   values ('cli-dead', 'webhook', 'http://127.0.0.1:9/hook', 'Tamper alert', 'dead', 8, 'attempt 8: webhook: HTTP 500')`;
    const dead = await cli("alerts", "list", "--dead");
    expect(dead.out).toHaveLength(1);
    expect(dead.out[0]).toMatch(
      /dead\s+webhook http:\/\/127\.0\.0\.1:9\/hook\s+attempts=8\s+Tamper alert\s+last_error: attempt 8/,
    );
    expect((await cli("health")).out.find((l) => l.includes("alerts"))).toMatch(/^FAIL .*1 dead deliveries/);
    expect((await cli("alerts", "retry-dead")).out[0]).toBe("1 dead deliveries queued again");
    expect((await cli("alerts", "list", "--dead")).out[0]).toBe("no dead deliveries");
  });
});

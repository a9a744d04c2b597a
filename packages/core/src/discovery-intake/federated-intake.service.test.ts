/**
 * Federated intake on a real PostgreSQL: the k-anonymity threshold (2 devices: not queued, 3: queued),
 * auto-add vs review vs queued by the classifier's score, allowlisted domains (and their subdomains) never
 * auto-added, a reviewer's decision never overridden, idempotent and safe with concurrent runs.
 */
import { classifyDomain, DISCOVERY_DEFAULTS } from "@betblocker/common/discovery/classify";
import { newAccount, newDevice } from "@betblocker/db/schema/factories";
import { createTestDatabase, type TestDatabase } from "@betblocker/db/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runFederatedIntake } from "./federated-intake.service";

let db: TestDatabase;
const devices: number[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  const owner = await newAccount(db);
  for (let i = 0; i < 4; i += 1) devices.push((await newDevice(db, { accountId: owner.id })).id);
});

afterAll(async () => {
  await db?.drop();
});

async function report(domain: string, deviceCount: number, offset = 0): Promise<void> {
  for (const deviceId of devices.slice(offset, offset + deviceCount)) {
    await db.owner`
      insert into federated_reports (device_id, domain, heuristic_match_type) values (${deviceId}, ${domain}, 'keyword')`;
  }
}

async function entry(domain: string) {
  const [row] = await db.owner<{ status: string; source: string; confidence_score: number }[]>`
    select status::text, source::text, confidence_score from blocklist_entries where domain = ${domain}`;
  return row ?? null;
}

async function candidate(domain: string) {
  const [row] = await db.owner<{ outcome: string; distinct_devices: number; confidence_score: number }[]>`
    select outcome, distinct_devices, confidence_score from discovery_candidates where domain = ${domain}`;
  return row ?? null;
}

describe("federated intake", () => {
  test("the fixtures' scores fall where the test needs them", () => {
    expect(classifyDomain("bestcasino.net").score).toBeGreaterThanOrEqual(
      DISCOVERY_DEFAULTS.autoAddThreshold,
    );
    const mid = classifyDomain("win88.net").score;
    expect(mid).toBeGreaterThanOrEqual(DISCOVERY_DEFAULTS.reviewThreshold);
    expect(mid).toBeLessThan(DISCOVERY_DEFAULTS.autoAddThreshold);
    expect(classifyDomain("luckywin.net").score).toBeLessThan(DISCOVERY_DEFAULTS.reviewThreshold);
    expect(classifyDomain("jackpot.net").score).toBeGreaterThanOrEqual(DISCOVERY_DEFAULTS.autoAddThreshold);
    expect(classifyDomain("play.bingo.net").score).toBeGreaterThanOrEqual(
      DISCOVERY_DEFAULTS.autoAddThreshold,
    );
  });

  test("k-anonymity: 2 devices stay invisible, the 3rd queues the domain; auto-add vs review vs queued", async () => {
    const now = new Date();
    await report("bestcasino.net", 2);
    let result = await runFederatedIntake(db.app, { now });
    expect(result.auto_added).toBe(0);
    expect(await candidate("bestcasino.net")).toBeNull();
    expect(await entry("bestcasino.net")).toBeNull();

    // The same two devices again on another day: still 2 distinct devices.
    await db.owner`update federated_reports set reported_at = reported_at - interval '1 day' where domain = 'bestcasino.net'`;
    await report("bestcasino.net", 2);
    await runFederatedIntake(db.app, { now });
    expect(await candidate("bestcasino.net")).toBeNull();

    await report("bestcasino.net", 1, 2);
    await report("win88.net", 3);
    await report("luckywin.net", 3);
    result = await runFederatedIntake(db.app, { now });
    expect(result).toMatchObject({ auto_added: 1, review: 1, queued: 1 });

    const high = classifyDomain("bestcasino.net").score;
    expect(await candidate("bestcasino.net")).toEqual({
      outcome: "auto_added",
      distinct_devices: 3,
      confidence_score: high,
    });
    expect(await entry("bestcasino.net")).toEqual({
      status: "active",
      source: "automated",
      confidence_score: high,
    });
    const confirmed = await db.owner<{ review_status: string }[]>`
      select review_status::text from federated_reports where domain = 'bestcasino.net'`;
    expect(confirmed.map((r) => r.review_status)).toEqual([
      "confirmed",
      "confirmed",
      "confirmed",
      "confirmed",
      "confirmed",
    ]);

    const mid = classifyDomain("win88.net").score;
    expect(await entry("win88.net")).toEqual({
      status: "review",
      source: "automated",
      confidence_score: mid,
    });
    expect((await candidate("win88.net"))?.outcome).toBe("review");
    expect(await entry("luckywin.net")).toBeNull();
    expect((await candidate("luckywin.net"))?.outcome).toBe("queued");

    // A 4th device: counts refresh, nothing is filed twice.
    await report("luckywin.net", 1, 3);
    const again = await runFederatedIntake(db.app, { now });
    expect(again).toMatchObject({ auto_added: 0, review: 0, queued: 0 });
    expect((await candidate("luckywin.net"))?.distinct_devices).toBe(4);
  });

  test("allowlisted domains (and their subdomains) are never auto-added; reviewer decisions stand", async () => {
    const now = new Date();
    await db.owner`insert into allowlist_entries (domain, reason) values ('jackpot.net', 'test'), ('bingo.net', 'test')`;
    await db.owner`insert into blocklist_entries (domain, source, status) values ('bets.net', 'curated', 'rejected')`;
    await report("jackpot.net", 3);
    await report("play.bingo.net", 3);
    await report("bets.net", 3);
    const result = await runFederatedIntake(db.app, { now });
    expect(result).toMatchObject({ auto_added: 0, allowlisted: 2, existing: 1 });
    expect(await entry("jackpot.net")).toBeNull();
    expect(await entry("play.bingo.net")).toBeNull();
    expect((await candidate("jackpot.net"))?.outcome).toBe("allowlisted");
    expect(await entry("bets.net")).toEqual({ status: "rejected", source: "curated", confidence_score: 100 });
  });

  test("concurrent runs file each domain once", async () => {
    const domains = ["goldenjackpot.net", "acebingo.net", "lottery.net", "pokerclub.net", "togel88.net"];
    for (const domain of domains) await report(domain, 3);
    const reports = await Promise.all([
      runFederatedIntake(db.app, { now: new Date(), batchSize: 2 }),
      runFederatedIntake(db.app, { now: new Date(), batchSize: 2 }),
      runFederatedIntake(db.app, { now: new Date(), batchSize: 3 }),
    ]);
    expect(reports.reduce((n, r) => n + r.auto_added, 0)).toBe(domains.length);
    const [count] = await db.owner<{ n: number }[]>`
      select count(*)::int as n from blocklist_entries where domain = any(${domains}::text[]) and status = 'active'`;
    expect(count?.n).toBe(domains.length);
  });
});

/**
 * Housekeeping against a real PostgreSQL: events partitions ahead and past retention (detached
 * CONCURRENTLY, dropped), auth token cleanup in bounded batches, and blocklist publishing only when changed
 * with delta retention.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  listActiveRules,
  listAllowlist,
  rulesDigestInDatabase,
} from "@betblocker/db/repositories/blocklist.repository";
import { createTestDatabase, type TestDatabase } from "@betblocker/db/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DEFAULT_CATEGORY, publishBlocklist, rulesDigest } from "../blocklist/publish.service";
import { ensureSigningKeyPair, type SigningKeyPair } from "../blocklist/signing-key";
import { SYSTEM_ACTOR } from "../jobs/job";
import { maintainEventsPartitions, utcMonthStart } from "./events-partitions.service";
import { cleanupAuthTokens } from "./token-cleanup.service";
import { pruneOldVersions } from "./version-retention.service";

let db: TestDatabase;
let keys: SigningKeyPair;
const dir = mkdtempSync(join(tmpdir(), "bb-maint-"));

beforeAll(async () => {
  db = await createTestDatabase();
  keys = ensureSigningKeyPair({
    signingKeyPath: join(dir, "signing.key"),
    publicKeyPath: join(dir, "signing.key.pub"),
  }).pair;
});

afterAll(async () => {
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const monthName = (d: Date) =>
  `events_y${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, "0")}`;

async function partitionNames(): Promise<string[]> {
  const rows = await db.owner<{ name: string }[]>`
    select relname as name from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r'
      and relname ~ '^events_y[0-9]{4}m[0-9]{2}$' order by 1`;
  return rows.map((r) => r.name);
}

describe("events partitions", () => {
  test("partitions exist through +3 months; those older than the retention are detached and dropped, recent ones kept", async () => {
    const now = new Date();
    const old = [-16, -15, -14, -13].map((offset) => utcMonthStart(now, offset));
    for (const month of old)
      await db.owner`select ensure_events_partition(${month.toISOString().slice(0, 10)}::date)`;
    // An event in an expired month, and a table left detached by an interrupted earlier run.
    await db.owner`insert into events (device_id, event_type, created_at) values (1, 'heartbeat', ${utcMonthStart(now, -14)})`;
    await db.owner.unsafe(`alter table events detach partition ${monthName(old[0] as Date)}`);
    const kept = utcMonthStart(now, -12);
    await db.owner`select ensure_events_partition(${kept.toISOString().slice(0, 10)}::date)`;

    const report = await maintainEventsPartitions({
      app: db.app,
      owner: db.owner,
      actor: SYSTEM_ACTOR,
      config: { eventsRetentionMonths: 12, eventsMonthsAhead: 3 },
    });
    expect(report.dropped.sort()).toEqual(old.map(monthName).sort());
    expect(report.remaining).toBe(0);
    const names = await partitionNames();
    for (const month of old) expect(names).not.toContain(monthName(month));
    expect(names).toContain(monthName(kept));
    for (let ahead = 0; ahead <= 3; ahead++) expect(names).toContain(monthName(utcMonthStart(now, ahead)));
    // Still a partitioned table that accepts events of the current month.
    await db.owner`insert into events (device_id, event_type) values (1, 'heartbeat')`;

    const again = await maintainEventsPartitions({
      app: db.app,
      owner: db.owner,
      actor: SYSTEM_ACTOR,
      config: { eventsRetentionMonths: 12, eventsMonthsAhead: 3 },
    });
    expect(again.dropped).toEqual([]);
  });

  test("a run far in the future creates the months ahead; two runs at once drop each partition once", async () => {
    const now = new Date();
    const future = utcMonthStart(now, 30);
    const deps = {
      app: db.app,
      owner: db.owner,
      actor: SYSTEM_ACTOR,
      config: { eventsRetentionMonths: 12, eventsMonthsAhead: 3 },
      now: () => future,
      maxPartitions: 100,
    };
    const [left, right] = await Promise.all([maintainEventsPartitions(deps), maintainEventsPartitions(deps)]);
    const dropped = [...left.dropped, ...right.dropped];
    expect(new Set(dropped).size).toBe(dropped.length);
    const names = await partitionNames();
    for (let ahead = 0; ahead <= 3; ahead++) expect(names).toContain(monthName(utcMonthStart(future, ahead)));
    // Whichever run got the lock dropped everything older than 12 months before `future`.
    if (!left.skipped && !right.skipped) expect(dropped.length).toBeGreaterThan(0);
    const cutoff = utcMonthStart(future, -12);
    expect(names.filter((n) => n < monthName(cutoff))).toEqual([]);
  });
});

describe("auth token cleanup", () => {
  test("deletes only tokens that can never be used again, older than the retention, in bounded batches", async () => {
    const [account] = await db.owner<{ id: number }[]>`
      insert into accounts (email, password_hash) values (${`t-${Date.now()}@example.test`}, '$argon2id$fixture') returning id`;
    const accountId = account?.id as number;
    const day = 86_400_000;
    const at = (days: number) => new Date(Date.now() + days * day);
    const liveFamily = crypto.randomUUID();
    const deadFamily = crypto.randomUUID();
    const token = async (label: string, expires: Date, revoked: Date | null, family: string) => {
      await db.owner`insert into refresh_tokens (account_id, token_hash, expires_at, revoked_at, family_id, device_info)
                     values (${accountId}, ${randomBytes(32)}, ${expires}, ${revoked}, ${family}, ${label})`;
    };
    await token("expired-long-ago", at(-30), null, crypto.randomUUID());
    await token("expired-yesterday", at(-1), null, crypto.randomUUID());
    await token("rotated-in-live-family", at(10), at(-20), liveFamily);
    await token("live", at(10), null, liveFamily);
    await token("revoked-dead-family-1", at(10), at(-20), deadFamily);
    await token("revoked-dead-family-2", at(10), at(-20), deadFamily);
    const verification = async (expires: Date, used: Date | null) => {
      await db.owner`insert into email_verification_tokens (account_id, token_hash, expires_at, used_at)
                     values (${accountId}, ${randomBytes(32)}, ${expires}, ${used})`;
    };
    await verification(at(1), at(-30)); // used long ago
    await verification(at(1), null); // pending
    await verification(at(-30), null); // expired long ago
    await verification(at(-1), null); // expired yesterday

    const deps = { sql: db.app, actor: SYSTEM_ACTOR, retentionDays: 7, batchSize: 1, maxBatches: 2 };
    const first = await cleanupAuthTokens(deps);
    expect(first).toMatchObject({ refreshTokens: 2, batches: 2, more: true });
    const rest = await cleanupAuthTokens({ ...deps, maxBatches: 100 });
    expect(rest.more).toBe(false);
    expect(first.refreshTokens + rest.refreshTokens).toBe(3);
    expect(first.emailVerificationTokens + rest.emailVerificationTokens).toBe(2);
    const left = await db.owner<
      { device_info: string }[]
    >`select device_info from refresh_tokens order by device_info`;
    expect(left.map((r) => r.device_info)).toEqual(["expired-yesterday", "live", "rotated-in-live-family"]);
    const [verifications] = await db.owner`select count(*)::int as n from email_verification_tokens`;
    expect(verifications?.n).toBe(2);
  });
});

describe("blocklist compile and delta retention", () => {
  const publish = () =>
    publishBlocklist(db.app, {
      privateKey: keys.privateKey,
      publicKey: keys.publicKey,
      actor: SYSTEM_ACTOR,
      onlyIfChanged: true,
    });

  test("publishes only when entries or the allowlist changed; two publishers at once make one version", async () => {
    await db.owner`insert into blocklist_entries (domain, category) select 'bet' || g || '.example.test', 'casino' from generate_series(1, 50) g`;
    const [v1, unchanged] = [await publish(), await publish()];
    expect(v1).toMatchObject({ published: true, version: 1 });
    expect(unchanged).toMatchObject({ published: false, version: 1 });

    await db.owner`insert into blocklist_entries (domain, category) values ('new-casino.example.test', 'casino')`;
    const [a, b] = await Promise.all([publish(), publish()]);
    expect([a.published, b.published].sort()).toEqual([false, true]);
    expect(Math.max(a.version, b.version)).toBe(2);
    expect((a.published ? a : b).deltaBytes).toBeGreaterThan(0);

    await db.owner`insert into allowlist_entries (domain) values ('bet7.example.test')`;
    expect(await publish()).toMatchObject({ published: true, version: 3 });
  });

  test("the database computes the same rules digest as rulesDigest() (null categories and allowlist included)", async () => {
    await db.owner`insert into blocklist_entries (domain, category) values ('no-category.example.test', null)`;
    const [entries, allow] = await Promise.all([listActiveRules(db.owner), listAllowlist(db.owner)]);
    expect(entries.some((e) => e.category === null)).toBe(true);
    expect(allow.length).toBeGreaterThan(0);
    expect(await rulesDigestInDatabase(db.owner, DEFAULT_CATEGORY)).toBe(
      rulesDigest(
        entries,
        allow.map((a) => a.domain),
      ),
    );
    await db.owner`delete from blocklist_entries where domain = 'no-category.example.test'`;
  });

  test("membership is recorded as version intervals: the entries of every version can be listed", async () => {
    const membersOf = async (version: number) =>
      (
        await db.owner<{ domain: string }[]>`
          select e.domain from blocklist_membership m join blocklist_entries e on e.id = m.blocklist_entry_id
          where m.from_version <= ${version} and (m.to_version is null or m.to_version > ${version})`
      ).map((r) => r.domain);
    expect(await membersOf(1)).toHaveLength(50);
    expect(await membersOf(2)).toContain("new-casino.example.test");
    await db.owner`update blocklist_entries set status = 'inactive' where domain = 'bet1.example.test'`;
    const next = await publish();
    expect(await membersOf(next.version)).not.toContain("bet1.example.test");
    expect(await membersOf(next.version - 1)).toContain("bet1.example.test");
    const [meta] =
      await db.owner`select delta_metadata->'entries_added' as added, delta_metadata->'entries_removed' as removed
                                  from blocklist_versions where version_number = ${next.version}`;
    expect(meta).toEqual({ added: 0, removed: 1 });
  });

  test("versions older than the retention lose delta, snapshot and entry mappings; the latest keeps them", async () => {
    await db.owner`update blocklist_versions set published_at = now() - interval '40 days'`;
    // Entry mappings as versions published before migration 0028 have them (one row per entry).
    await db.owner`insert into blocklist_version_entries (blocklist_version_id, blocklist_entry_id)
                   select v.id, e.id from blocklist_versions v cross join blocklist_entries e where v.version_number = 1`;
    const deps = { sql: db.app, actor: SYSTEM_ACTOR, retentionDays: 30, batchSize: 20, maxBatches: 3 };
    const first = await pruneOldVersions(deps);
    expect(first.more).toBe(true);
    const rest = await pruneOldVersions({ ...deps, maxBatches: 1000 });
    expect(rest.more).toBe(false);
    expect([...first.versionsPruned, ...rest.versionsPruned].sort()).toEqual([1, 2, 3]);
    const rows = await db.owner<{ v: number; delta: boolean; snapshot: boolean; mappings: number }[]>`
      select version_number as v, delta_binary is not null as delta, snapshot_binary is not null as snapshot,
             (select count(*)::int from blocklist_version_entries e where e.blocklist_version_id = bv.id) as mappings
      from blocklist_versions bv order by 1`;
    expect(rows).toEqual([
      { v: 1, delta: false, snapshot: false, mappings: 0 },
      { v: 2, delta: false, snapshot: false, mappings: 0 },
      { v: 3, delta: false, snapshot: false, mappings: 0 },
      { v: 4, delta: true, snapshot: true, mappings: 0 },
    ]);
    // Publishing still works on top of a pruned history.
    await db.owner`insert into blocklist_entries (domain) values ('after-prune.example.test')`;
    expect(await publish()).toMatchObject({ published: true, version: 5 });
  });
});

/**
 * Events partitioning (migration 0007): monthly UTC range partitions created by ensure_events_partition(),
 * no hard-coded partition list, no default partition.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../testing";
import { newAccount } from "./factories";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

function partitionName(year: number, month: number): string {
  return `events_y${year}m${String(month).padStart(2, "0")}`;
}

async function partitions(): Promise<string[]> {
  const rows = await db.owner<{ name: string }[]>`
    select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'public.events'::regclass order by 1`;
  return rows.map((r) => r.name);
}

describe("events partitions", () => {
  test("a fresh database has partitions from last month through three months ahead (UTC)", async () => {
    const [now] = await db.owner<{ y: number; m: number }[]>`
      select extract(year from now() at time zone 'UTC')::int as y, extract(month from now() at time zone 'UTC')::int as m`;
    const expected: string[] = [];
    for (let offset = -1; offset <= 3; offset++) {
      const index = (now?.y as number) * 12 + (now?.m as number) - 1 + offset;
      expected.push(partitionName(Math.floor(index / 12), (index % 12) + 1));
    }
    expect(await partitions()).toEqual(expect.arrayContaining(expected));
  });

  test("ensure_events_partition creates the month of an arbitrary date (2031-07) and is idempotent", async () => {
    // Created from a session west of UTC: the bounds must still be UTC midnights.
    const [first] = await db.owner.begin(async (tx) => {
      await tx`set local time zone 'America/Los_Angeles'`;
      return tx`select ensure_events_partition('2031-07-19') as name`;
    });
    const [second] = await db.owner`select ensure_events_partition('2031-07-01') as name`;
    const [third] = await db.owner`select ensure_events_partition('2031-07-31') as name`;
    expect([first?.name, second?.name, third?.name]).toEqual([
      "events_y2031m07",
      "events_y2031m07",
      "events_y2031m07",
    ]);
    expect((await partitions()).filter((p) => p === "events_y2031m07")).toHaveLength(1);

    // Bounds are UTC months whatever the session time zone was when the partition was created.
    const [bound] = await db.owner.begin(async (tx) => {
      await tx`set local time zone 'UTC'`;
      return tx`select pg_get_expr(c.relpartbound, c.oid) as bound from pg_class c where c.relname = 'events_y2031m07'`;
    });
    expect(bound?.bound).toBe("FOR VALUES FROM ('2031-07-01 00:00:00+00') TO ('2031-08-01 00:00:00+00')");
  });

  test("events inserted with created_at in different months land in their monthly partition", async () => {
    await db.owner`select ensure_events_partitions('2030-01-01', '2030-03-01')`;
    const user = await newAccount(db);
    const rows = await db.asApp({ accountId: user.id, role: "user" }, async (sql) => {
      // A session far east of UTC: the boundary is still midnight UTC.
      await sql`set local time zone 'Pacific/Auckland'`;
      return sql<{ at: string; partition: string }[]>`
        insert into events (device_id, event_type, created_at) values
          (1, 'heartbeat', '2030-01-15T12:00:00Z'),
          (1, 'block',     '2030-01-31T23:59:59.999Z'),
          (1, 'tamper',    '2030-02-01T00:00:00Z'),
          (1, 'block',     '2030-02-01 11:30:00+13'),
          (1, 'bypass_attempt', '2030-03-31T23:00:00Z')
        returning to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS') as at, tableoid::regclass::text as partition`;
    });
    expect(rows.map((r) => [r.at, r.partition])).toEqual([
      ["2030-01-15T12:00:00.000", "events_y2030m01"],
      ["2030-01-31T23:59:59.999", "events_y2030m01"],
      ["2030-02-01T00:00:00.000", "events_y2030m02"],
      ["2030-01-31T22:30:00.000", "events_y2030m01"],
      ["2030-03-31T23:00:00.000", "events_y2030m03"],
    ]);
    const [viaParent] =
      await db.owner`select count(*)::int as n from events where created_at >= '2030-01-01Z' and created_at < '2030-04-01Z'`;
    expect(viaParent?.n).toBe(5);
  });

  test("an event now (default created_at) is accepted by a freshly migrated database", async () => {
    const user = await newAccount(db);
    const [row] = await db.asApp(
      { accountId: user.id, role: "user" },
      (sql) =>
        sql`insert into events (device_id, enrollment_id, event_type, metadata)
          values (7, 9, 'block', ${sql.json({ domain: "casino.example", category: "casino", layer: "dns" })})
          returning tableoid::regclass::text as partition`,
    );
    expect(row?.partition).toMatch(/^events_y\d{4}m\d{2}$/);
  });

  test("an event for a month without a partition fails clearly", async () => {
    const user = await newAccount(db);
    await expect(
      db.asApp(
        { accountId: user.id, role: "user" },
        (sql) =>
          sql`insert into events (device_id, event_type, created_at) values (1, 'block', '2045-03-10T10:00:00Z')`,
      ),
    ).rejects.toMatchObject({
      code: "23514",
      message: expect.stringMatching(/no partition of relation "events" found for row/),
    });
    expect(await partitions()).not.toContain("events_y2045m03");
  });

  test("ensure_events_partitions covers every month of a range and rejects an inverted range", async () => {
    const [row] =
      await db.owner`select array_agg(p) as names from ensure_events_partitions('2032-11-20', '2033-02-03') p`;
    expect(row?.names).toEqual(["events_y2032m11", "events_y2032m12", "events_y2033m01", "events_y2033m02"]);
    await expect(db.owner`select ensure_events_partitions('2033-02-01', '2032-11-01')`).rejects.toMatchObject(
      {
        message: expect.stringMatching(/is after p_to/),
      },
    );
    await expect(db.owner`select ensure_events_partition(null)`).rejects.toMatchObject({
      message: expect.stringMatching(/must not be NULL/),
    });
  });

  test("the application role (worker) can create partitions, which it can then use", async () => {
    const user = await newAccount(db);
    const [row] = await db.asApp({ accountId: null, role: "system" }, async (sql) => {
      const [created] = await sql`select ensure_events_partition('2034-05-05') as name`;
      await sql`insert into events (device_id, event_type, created_at) values (${user.id}, 'heartbeat', '2034-05-05T05:05:05Z')`;
      const [direct] = await sql`select count(*)::int as n from events_y2034m05`;
      return [{ name: created?.name, n: direct?.n }];
    });
    expect(row).toEqual({ name: "events_y2034m05", n: 1 });
    const [owner] =
      await db.owner`select pg_get_userbyid(relowner) as owner, current_user as me from pg_class where relname = 'events_y2034m05'`;
    expect(owner?.owner).toBe(owner?.me);
  });

  test("a table squatting on a partition name is reported instead of silently accepted", async () => {
    await db.owner`create table events_y2036m01 (like events)`;
    await expect(db.owner`select ensure_events_partition('2036-01-10')`).rejects.toMatchObject({
      message: expect.stringMatching(/exists but is not a partition of public\.events/),
    });
  });
});

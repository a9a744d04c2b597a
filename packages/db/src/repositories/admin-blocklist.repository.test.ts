/**
 * The admin search query: served by the trigram index (idx_blocklist_domain_trgm, gin_trgm_ops) for both its
 * substring and its fuzzy branch, with every value a bound parameter.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../testing";
import {
  buildEntrySearchQuery,
  escapeLikePattern,
  searchEntries,
  WORD_SIMILARITY_THRESHOLD,
} from "./admin-blocklist.repository";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.owner`
    insert into blocklist_entries (domain, category)
    select 'site' || n || '-' || md5(n::text) || '.example', 'casino' from generate_series(1, 500) n`;
  await db.owner`insert into blocklist_entries (domain) values ('pokerstars.example'), ('100%-bonus.example')`;
  await db.owner`analyze blocklist_entries`;
});

afterAll(async () => {
  await db?.drop();
});

function indexesIn(plan: unknown): string[] {
  const names: string[] = [];
  const walk = (node: Record<string, unknown>) => {
    if (typeof node["Index Name"] === "string") names.push(node["Index Name"]);
    for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
  };
  walk(
    ((plan as { "QUERY PLAN": { Plan: Record<string, unknown> }[] })["QUERY PLAN"][0]?.Plan ?? {}) as Record<
      string,
      unknown
    >,
  );
  return names;
}

describe("buildEntrySearchQuery", () => {
  test("both branches of a search (ILIKE, word similarity) are served by idx_blocklist_domain_trgm", async () => {
    // On a table this small a sequential scan is cheaper, so it is switched off to ask "can the index serve
    // this predicate"; on a real blocklist (10^5 rows and more) the planner picks the index by itself.
    const { text, params } = buildEntrySearchQuery({
      q: "pokerstras",
      status: null,
      category: null,
      source: null,
      after: null,
      limit: 51,
    });
    const plan = await db.asApp({ accountId: null, role: "admin" }, async (tx) => {
      await tx`select set_config('pg_trgm.word_similarity_threshold', ${String(WORD_SIMILARITY_THRESHOLD)}, true)`;
      await tx`set local enable_seqscan = off`;
      const [row] = await tx.unsafe(`explain (format json) ${text}`, params as never[]);
      return row;
    });
    // BitmapOr of two scans of the trigram index: one for ILIKE, one for <%.
    expect(indexesIn(plan).filter((name) => name === "idx_blocklist_domain_trgm")).toHaveLength(2);
  });

  test("search values are parameters, never SQL text", () => {
    const hostile = "'; drop table blocklist_entries; --";
    const { text, params } = buildEntrySearchQuery({
      q: hostile,
      status: null,
      category: "x' or '1'='1",
      source: null,
      after: { kind: "rank", rank: "1.5", domain: "a'--" },
      limit: 5,
    });
    expect(text).not.toContain("drop table");
    expect(text).not.toContain("'1'='1");
    expect(params).toContain(hostile);
  });

  test("LIKE wildcards in a term are literal", async () => {
    expect(escapeLikePattern("100%_\\")).toBe("100\\%\\_\\\\");
    const hits = await db.asApp({ accountId: null, role: "admin" }, (tx) =>
      searchEntries(tx, { q: "%", status: null, category: null, source: null, after: null, limit: 10 }),
    );
    expect(hits.map((h) => h.domain)).toEqual(["100%-bonus.example"]);
  });

  test("fuzzy: a transposition still finds the domain; ranked below exact substrings", async () => {
    const hits = await db.asApp({ accountId: null, role: "admin" }, (tx) =>
      searchEntries(tx, {
        q: "pokerstras",
        status: null,
        category: null,
        source: null,
        after: null,
        limit: 10,
      }),
    );
    expect(hits[0]?.domain).toBe("pokerstars.example");
    const exact = await db.asApp({ accountId: null, role: "admin" }, (tx) =>
      searchEntries(tx, {
        q: "pokerstars",
        status: null,
        category: null,
        source: null,
        after: null,
        limit: 10,
      }),
    );
    expect(Number(exact[0]?.position.kind === "rank" ? exact[0].position.rank : 0)).toBeGreaterThan(
      Number(hits[0]?.position.kind === "rank" ? hits[0].position.rank : 0),
    );
  });
});

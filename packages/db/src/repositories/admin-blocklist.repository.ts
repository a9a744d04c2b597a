/**
 * blocklist_entries as the admin panel sees them: search (trigram), create, change category and status.
 * All SQL for that lives here. Writes run in the caller's transaction, whose SET LOCAL context names the admin
 * for the audit trigger.
 *
 * Search contract: with a search term the rows are those whose domain contains the term (ILIKE '%term%') or
 * is similar to it (word similarity, pg_trgm `<%`); both are served by idx_blocklist_domain_trgm (GIN,
 * gin_trgm_ops). They are ranked by (contains ? 1 : 0) + word_similarity, best first, ties by domain.
 * Without a term, rows are in domain order. Either way the order is total (domain is unique), so keyset
 * pages are stable.
 */
import type { Queryable, TransactionSql } from "../client";
import type { BlocklistEntryStatus, BlocklistSource } from "./blocklist.repository";

export interface AdminEntry {
  id: number;
  domain: string;
  category: string | null;
  source: BlocklistSource;
  status: BlocklistEntryStatus;
  confidenceScore: number;
  /** Public id of the account that added it; null for imports and for deleted accounts. */
  addedByPublicId: string | null;
  addedAt: Date;
  updatedAt: Date;
}

interface EntryRow {
  id: number;
  domain: string;
  category: string | null;
  source: BlocklistSource;
  status: BlocklistEntryStatus;
  confidence_score: number;
  added_by: string | null;
  added_at: Date;
  updated_at: Date;
}

function toEntry(row: EntryRow): AdminEntry {
  return {
    id: row.id,
    domain: row.domain,
    category: row.category,
    source: row.source,
    status: row.status,
    confidenceScore: row.confidence_score,
    addedByPublicId: row.added_by,
    addedAt: row.added_at,
    updatedAt: row.updated_at,
  };
}

/** Columns of `blocklist_entries e left join accounts a` (accounts under RLS: an admin sees every row). */
const ENTRY_COLUMNS = `e.id, e.domain, e.category, e.source::text as source, e.status::text as status,
  e.confidence_score, a.public_id::text as added_by, e.added_at, e.updated_at`;

/** Word similarity from which a domain counts as a fuzzy match (pg_trgm's default is 0.6, too strict for typos). */
export const WORD_SIMILARITY_THRESHOLD = 0.45;

export type EntrySearchPosition =
  | { kind: "domain"; domain: string }
  /** rank as PostgreSQL printed it (float8 text round-trips exactly). */
  | { kind: "rank"; rank: string; domain: string };

export interface EntrySearch {
  /** Lower-case search term, or null for a plain listing. */
  q: string | null;
  status: BlocklistEntryStatus | null;
  category: string | null;
  source: BlocklistSource | null;
  after: EntrySearchPosition | null;
  limit: number;
}

export interface EntrySearchHit extends AdminEntry {
  position: EntrySearchPosition;
}

/** `\`, `%` and `_` are literal in the term: escaped for LIKE (whose default escape character is `\`). */
export function escapeLikePattern(term: string): string {
  return term.replace(/[\\%_]/g, (character) => `\\${character}`);
}

/**
 * The search as SQL text and parameters (every value is a bound parameter, never spliced into the text), so
 * that tests can EXPLAIN exactly what runs. A position of the wrong kind for the query is ignored by the
 * caller's validation, not here: the SQL uses whichever kind it gets.
 */
export function buildEntrySearchQuery(search: EntrySearch): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const param = (value: unknown, cast = "") => {
    params.push(value);
    return `$${params.length}${cast}`;
  };
  const filters: string[] = [];
  if (search.status) filters.push(`e.status = ${param(search.status, "::blocklist_entry_status")}`);
  if (search.category) filters.push(`e.category = ${param(search.category, "::text")}`);
  if (search.source) filters.push(`e.source = ${param(search.source, "::blocklist_source")}`);

  if (search.q === null) {
    if (search.after?.kind === "domain") filters.push(`e.domain > ${param(search.after.domain, "::text")}`);
    const where = filters.length > 0 ? `where ${filters.join(" and ")}` : "";
    return {
      text: `select ${ENTRY_COLUMNS}, null::text as rank
               from blocklist_entries e left join accounts a on a.id = e.added_by_account_id
               ${where}
              order by e.domain
              limit ${param(search.limit, "::int")}`,
      params,
    };
  }

  const q = param(search.q, "::text");
  const pattern = param(`%${escapeLikePattern(search.q)}%`, "::text");
  filters.unshift(`(e.domain ilike ${pattern} or ${q} <% e.domain)`);
  let after = "";
  if (search.after?.kind === "rank") {
    const rank = param(search.after.rank, "::float8");
    const domain = param(search.after.domain, "::text");
    after = `where (hit.rank_value < ${rank} or (hit.rank_value = ${rank} and hit.domain > ${domain}))`;
  }
  return {
    text: `select hit.*, hit.rank_value::text as rank from (
             select ${ENTRY_COLUMNS},
                    (case when e.domain ilike ${pattern} then 1.0 else 0.0 end)::float8
                      + word_similarity(${q}, e.domain)::float8 as rank_value
               from blocklist_entries e left join accounts a on a.id = e.added_by_account_id
              where ${filters.join(" and ")}
           ) hit
           ${after}
           order by hit.rank_value desc, hit.domain asc
           limit ${param(search.limit, "::int")}`,
    params,
  };
}

/**
 * One page of entries. Takes a transaction because the fuzzy threshold is set with SET LOCAL for it.
 */
export async function searchEntries(tx: TransactionSql, search: EntrySearch): Promise<EntrySearchHit[]> {
  if (search.q !== null) {
    await tx`select set_config('pg_trgm.word_similarity_threshold', ${String(WORD_SIMILARITY_THRESHOLD)}, true)`;
  }
  const { text, params } = buildEntrySearchQuery(search);
  const rows = await tx.unsafe<(EntryRow & { rank: string | null })[]>(text, params as never[]);
  return rows.map((row) => ({
    ...toEntry(row),
    position:
      row.rank === null
        ? { kind: "domain", domain: row.domain }
        : { kind: "rank", rank: row.rank, domain: row.domain },
  }));
}

export async function findEntryById(sql: Queryable, id: number): Promise<AdminEntry | null> {
  const [row] = await sql.unsafe<EntryRow[]>(
    `select ${ENTRY_COLUMNS} from blocklist_entries e left join accounts a on a.id = e.added_by_account_id
      where e.id = $1`,
    [id],
  );
  return row ? toEntry(row) : null;
}

export async function findEntryByDomain(sql: Queryable, domain: string): Promise<AdminEntry | null> {
  const [row] = await sql.unsafe<EntryRow[]>(
    `select ${ENTRY_COLUMNS} from blocklist_entries e left join accounts a on a.id = e.added_by_account_id
      where e.domain = $1`,
    [domain],
  );
  return row ? toEntry(row) : null;
}

/** The entry for a domain, locked FOR UPDATE until the transaction ends (review decisions). */
export async function lockEntryByDomain(tx: TransactionSql, domain: string): Promise<AdminEntry | null> {
  const [locked] = await tx<{ id: number }[]>`
    select id from blocklist_entries where domain = ${domain} for update`;
  return locked ? findEntryById(tx, locked.id) : null;
}

export interface NewEntry {
  domain: string;
  category: string | null;
  source: BlocklistSource;
  status: BlocklistEntryStatus;
  confidenceScore: number;
  addedByAccountId: number;
}

/** Inserts an entry; null when the domain is already in blocklist_entries (whatever its status). */
export async function insertEntry(tx: TransactionSql, entry: NewEntry): Promise<AdminEntry | null> {
  const [row] = await tx<{ id: number }[]>`
    insert into blocklist_entries (domain, category, source, status, confidence_score, added_by_account_id)
    values (${entry.domain}, ${entry.category}, ${entry.source}::blocklist_source,
            ${entry.status}::blocklist_entry_status, ${entry.confidenceScore}, ${entry.addedByAccountId})
    on conflict (domain) do nothing
    returning id`;
  return row ? findEntryById(tx, row.id) : null;
}

export interface EntryChanges {
  /** undefined: unchanged; null: remove the category. */
  category?: string | null;
  status?: BlocklistEntryStatus;
}

/** Applies the changes; null when no entry has this id. */
export async function updateEntry(
  tx: TransactionSql,
  id: number,
  changes: EntryChanges,
): Promise<AdminEntry | null> {
  const setCategory = changes.category !== undefined;
  const [row] = await tx<{ id: number }[]>`
    update blocklist_entries
       set category = case when ${setCategory} then ${changes.category ?? null}::text else category end,
           status = coalesce(${changes.status ?? null}::blocklist_entry_status, status)
     where id = ${id}
     returning id`;
  return row ? findEntryById(tx, row.id) : null;
}

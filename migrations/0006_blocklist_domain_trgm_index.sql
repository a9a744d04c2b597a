-- betblocker:no-transaction
--
-- 0006_blocklist_domain_trgm_index.sql
--
-- Creates: idx_blocklist_domain_trgm, the trigram GIN index on
-- blocklist_entries.domain (spec 5.4) used by the admin panel's fuzzy domain
-- search (ILIKE '%term%', similarity()).
--
-- Why a separate, non-transactional file: CREATE INDEX CONCURRENTLY cannot
-- run inside a transaction block, and building a GIN index on a large,
-- populated blocklist without CONCURRENTLY would block every write to the
-- table while it builds. The runner executes the statements below one by one.
--
-- Re-run safety: IF NOT EXISTS makes a second run a no-op. An interrupted
-- concurrent build, however, leaves an INVALID index of that name behind,
-- which IF NOT EXISTS would happily accept. The first statement drops such a
-- leftover (never a valid index) so that a retry rebuilds it. Dropping an
-- invalid index is instantaneous, the short exclusive lock is harmless.

DO $$
BEGIN
    IF EXISTS (
        SELECT 1
          FROM pg_index i
          JOIN pg_class c ON c.oid = i.indexrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public'
           AND c.relname = 'idx_blocklist_domain_trgm'
           AND NOT i.indisvalid
    ) THEN
        RAISE NOTICE 'dropping invalid leftover index idx_blocklist_domain_trgm before rebuilding it';
        DROP INDEX public.idx_blocklist_domain_trgm;
    END IF;
END
$$;

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_blocklist_domain_trgm
    ON public.blocklist_entries USING gin (domain gin_trgm_ops);

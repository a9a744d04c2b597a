-- 0028_blocklist_membership.sql
--
-- Creates: blocklist_membership, which versions contain which entry, as
-- version intervals; and stores the signed snapshot and delta of
-- blocklist_versions uncompressed (STORAGE EXTERNAL).
--
-- Why (measured, `npm run bench:compile`, 1,000,000 entries, 1% churn, this
-- project's 2-core machine): publishing wrote the full membership of every
-- version into blocklist_version_entries, 1,000,000 rows per version; that
-- insert alone took 11.8 s (9 s of it the two foreign-key checks per row),
-- against a budget of 3 s for the whole compile + sign + delta + store, and
-- it grows the table by the list size at every publish (a version every
-- hour is 24 million rows a day). An entry's membership changes rarely, so
-- it is stored as intervals: one row per (entry, first version containing
-- it), closed with to_version when a version drops it. A publish writes
-- O(churn) rows (about 20,000 for 1% churn) and the history stays exact:
--   entries of version V: from_version <= V AND (to_version IS NULL OR to_version > V)
--   versions containing entry E: its rows' [from_version, to_version) ranges
-- blocklist_version_entries (spec) is kept for the versions published before
-- this migration; the retention job prunes it like their deltas.
--
-- Snapshots and deltas are compressed binary data already: pglz spent about
-- 1 s per publish failing to compress a 6 MB snapshot. EXTERNAL stores them
-- out of line without trying (applies to rows written from now on).

CREATE TABLE blocklist_membership (
    blocklist_entry_id  BIGINT  NOT NULL REFERENCES blocklist_entries (id) ON DELETE CASCADE,
    -- First version (version_number) that contains the entry.
    from_version        INTEGER NOT NULL,
    -- First version that no longer contains it; NULL while the latest version does.
    to_version          INTEGER,
    PRIMARY KEY (blocklist_entry_id, from_version),
    CONSTRAINT chk_blocklist_membership_range CHECK (to_version IS NULL OR to_version > from_version)
);

-- At most one open interval per entry: the membership of the latest version.
CREATE UNIQUE INDEX uq_blocklist_membership_current ON blocklist_membership (blocklist_entry_id)
    WHERE to_version IS NULL;

-- Entries of a version, and pruning closed intervals older than the retention.
CREATE INDEX idx_blocklist_membership_versions ON blocklist_membership (from_version, to_version);

COMMENT ON TABLE blocklist_membership IS
    'Addition: which published versions contain each entry, as [from_version, to_version) intervals.';

ALTER TABLE blocklist_versions
    ALTER COLUMN snapshot_binary SET STORAGE EXTERNAL,
    ALTER COLUMN delta_binary SET STORAGE EXTERNAL;

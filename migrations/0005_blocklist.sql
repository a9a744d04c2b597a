-- 0005_blocklist.sql
--
-- Creates: blocklist_entries, blocklist_versions, blocklist_version_entries,
-- federated_reports (spec 5.4), plus the platform additions
-- allowlist_entries and the signed-snapshot columns of blocklist_versions,
-- with their constraints, indexes and updated_at triggers.
--
-- Why: admins curate the global blocklist, agents report suspicious domains
-- (federated reports), and the compiler publishes numbered, signed versions
-- (full snapshot + delta from the previous version) that agents sync.
-- The trigram index on blocklist_entries.domain is NOT created here: it is
-- built with CREATE INDEX CONCURRENTLY in the no-transaction file 0006 so
-- that it never blocks writes on an existing, populated table.
-- These tables are global (no row-level security, spec section 6).

-- ---------------------------------------------------------------------------
-- blocklist_entries
-- ---------------------------------------------------------------------------
CREATE TABLE blocklist_entries (
    id                   BIGSERIAL              PRIMARY KEY,
    domain               VARCHAR(500)           NOT NULL,
    -- e.g. 'casino', 'sports_betting', 'lottery'.
    category             VARCHAR(100),
    source               blocklist_source       NOT NULL DEFAULT 'curated',
    confidence_score     SMALLINT               NOT NULL DEFAULT 100
        CONSTRAINT chk_confidence CHECK (confidence_score BETWEEN 0 AND 100),
    added_by_account_id  BIGINT                 REFERENCES accounts (id) ON DELETE SET NULL,
    status               blocklist_entry_status NOT NULL DEFAULT 'active',
    added_at             TIMESTAMPTZ            NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ            NOT NULL DEFAULT now(),
    -- No duplicates in the blocklist.
    CONSTRAINT uq_blocklist_domain UNIQUE (domain),
    -- Addition: the unique constraint and the agents' exact-match lookups are
    -- only meaningful on a canonical spelling, so domains are stored
    -- lower-case, non-empty and without whitespace (leading, trailing or
    -- inside). Normalize (and punycode IDNs) before inserting.
    CONSTRAINT chk_blocklist_domain_normalized CHECK (
        domain <> '' AND domain = lower(domain) AND domain !~ '[[:space:]]'
    )
);

-- Category filter over active entries.
CREATE INDEX idx_blocklist_category ON blocklist_entries (category) WHERE status = 'active';

-- Review queue: entries awaiting review, newest first.
CREATE INDEX idx_blocklist_review_queue ON blocklist_entries (added_at DESC) WHERE status = 'review';

-- Source breakdown for analytics.
CREATE INDEX idx_blocklist_source ON blocklist_entries (source);

CREATE TRIGGER trg_blocklist_entries_updated_at
    BEFORE UPDATE ON blocklist_entries
    FOR EACH ROW EXECUTE FUNCTION fn_set_updated_at();

COMMENT ON TABLE blocklist_entries IS 'Global gambling-domain blocklist (curated, automated, federated).';
COMMENT ON CONSTRAINT chk_blocklist_domain_normalized ON blocklist_entries IS
    'Addition to the spec: domains are stored canonical (lower-case, no whitespace, non-empty).';

-- ---------------------------------------------------------------------------
-- blocklist_versions
-- ---------------------------------------------------------------------------
CREATE TABLE blocklist_versions (
    id               BIGSERIAL   PRIMARY KEY,
    version_number   INTEGER     NOT NULL,
    published_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    entry_count      INTEGER     NOT NULL DEFAULT 0,
    -- Compressed binary delta from the previous version (incremental sync).
    delta_binary     BYTEA,
    -- Statistics about the delta (entries added, removed, ...).
    delta_metadata   JSONB       NOT NULL DEFAULT '{}',
    -- Additions (platform, not in the spec): the signed full-list file served
    -- to agents whose version is too old for a delta chain, its SHA-256, the
    -- version of the binary format, and the id of the Ed25519 signing key
    -- (so keys can be rotated). All nullable: versions can be recorded
    -- before their artifacts are built.
    snapshot_binary  BYTEA,
    snapshot_sha256  BYTEA,
    format_version   SMALLINT,
    signing_key_id   BYTEA,
    CONSTRAINT uq_blocklist_version_number UNIQUE (version_number),
    CONSTRAINT chk_blocklist_versions_entry_count CHECK (entry_count >= 0),
    CONSTRAINT chk_blocklist_versions_snapshot_sha256 CHECK (
        snapshot_sha256 IS NULL OR octet_length(snapshot_sha256) = 32
    ),
    CONSTRAINT chk_blocklist_versions_format_version CHECK (format_version IS NULL OR format_version > 0)
);

-- Latest version lookup.
CREATE INDEX idx_blocklist_versions_published ON blocklist_versions (published_at DESC);

COMMENT ON TABLE blocklist_versions IS 'Published, numbered blocklist versions with their signed delta and snapshot.';
COMMENT ON COLUMN blocklist_versions.snapshot_binary IS 'Addition: signed full blocklist file of this version.';
COMMENT ON COLUMN blocklist_versions.snapshot_sha256 IS 'Addition: SHA-256 (32 bytes) of snapshot_binary.';
COMMENT ON COLUMN blocklist_versions.format_version IS 'Addition: version of the blocklist binary format.';
COMMENT ON COLUMN blocklist_versions.signing_key_id IS 'Addition: identifier of the Ed25519 key that signed the artifacts.';

-- ---------------------------------------------------------------------------
-- blocklist_version_entries: full membership of each version
-- ---------------------------------------------------------------------------
CREATE TABLE blocklist_version_entries (
    blocklist_version_id  BIGINT NOT NULL REFERENCES blocklist_versions (id) ON DELETE CASCADE,
    blocklist_entry_id    BIGINT NOT NULL REFERENCES blocklist_entries (id) ON DELETE CASCADE,
    PRIMARY KEY (blocklist_version_id, blocklist_entry_id)
);

-- Which versions include a given entry.
CREATE INDEX idx_bve_entry ON blocklist_version_entries (blocklist_entry_id);

COMMENT ON TABLE blocklist_version_entries IS 'Entries contained in each blocklist version.';

-- ---------------------------------------------------------------------------
-- federated_reports: domains reported by agents' heuristics
-- ---------------------------------------------------------------------------
CREATE TABLE federated_reports (
    id                      BIGSERIAL               PRIMARY KEY,
    device_id               BIGINT                  NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    domain                  VARCHAR(500)            NOT NULL,
    -- e.g. 'keyword', 'visual', 'dns_pattern'.
    heuristic_match_type    VARCHAR(100),
    reported_at             TIMESTAMPTZ             NOT NULL DEFAULT now(),
    review_status           federated_report_status NOT NULL DEFAULT 'pending',
    reviewed_by_account_id  BIGINT                  REFERENCES accounts (id) ON DELETE SET NULL,
    resolved_to_entry_id    BIGINT                  REFERENCES blocklist_entries (id) ON DELETE SET NULL
);

-- Review queue, newest first.
CREATE INDEX idx_federated_reports_pending ON federated_reports (reported_at DESC) WHERE review_status = 'pending';

-- Report frequency per domain (priority).
CREATE INDEX idx_federated_reports_domain ON federated_reports (domain);

-- Reports from a device.
CREATE INDEX idx_federated_reports_device ON federated_reports (device_id);

COMMENT ON TABLE federated_reports IS 'Agent-reported candidate gambling domains awaiting admin review.';

-- ---------------------------------------------------------------------------
-- allowlist_entries (addition, not in the spec)
-- ---------------------------------------------------------------------------
-- Help resources (gambling-addiction helplines, support groups, debt advice)
-- whose domains often contain gambling keywords and must never be blocked,
-- whatever the curated list, the automated pipeline or federated reports say.
CREATE TABLE allowlist_entries (
    id                   BIGSERIAL    PRIMARY KEY,
    domain               VARCHAR(500) NOT NULL,
    reason               VARCHAR(200),
    added_by_account_id  BIGINT       REFERENCES accounts (id) ON DELETE SET NULL,
    created_at           TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ  NOT NULL DEFAULT now(),
    CONSTRAINT uq_allowlist_domain UNIQUE (domain),
    -- Same canonical form as blocklist_entries.domain, so the two lists can
    -- be compared with plain equality.
    CONSTRAINT chk_allowlist_domain_normalized CHECK (
        domain <> '' AND domain = lower(domain) AND domain !~ '[[:space:]]'
    )
);

CREATE TRIGGER trg_allowlist_entries_updated_at
    BEFORE UPDATE ON allowlist_entries
    FOR EACH ROW EXECUTE FUNCTION fn_set_updated_at();

COMMENT ON TABLE allowlist_entries IS
    'Addition: help-resource domains that must never be blocked (take precedence over blocklist_entries).';
